// A module resolve hook for test/db/added-field.test.ts: src/model/fields.ts resolves to a copy of
// it with one more field, so every module derives its tables, keys, schemas and routes from that.
let from
let to

export async function initialize (data) {
  ({ from, to } = data)
}

export async function resolve (specifier, context, next) {
  const resolved = await next(specifier, context)
  return resolved.url === from ? { ...resolved, url: to } : resolved
}
