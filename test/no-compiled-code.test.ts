// No code is compiled at run time anywhere in src/: no `new Function`, no `eval`, no `vm`.
// Read from the syntax tree (comments and strings may name them), so that a use cannot hide
// behind spacing, and a comment saying "no new Function" is no use.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import ts from 'typescript'

const SRC = new URL('../src/', import.meta.url).pathname

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [path] : []
  })
}

/** Where a file compiles code at run time: `new Function(…)`, `Function(…)`, `eval(…)`, `x.eval`, an import of vm. */
function compiledCodeIn (file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const at = (node: ts.Node, what: string) => found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`)
  const named = (node: ts.Expression, ...names: string[]) => ts.isIdentifier(node) && names.includes(node.text)
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && named(node.expression, 'Function')) at(node, 'new Function')
    else if (ts.isCallExpression(node) && named(node.expression, 'Function', 'eval')) at(node, `${(node.expression as ts.Identifier).text}(…)`)
    else if (ts.isPropertyAccessExpression(node) && ['eval', 'Function'].includes(node.name.text) && named(node.expression, 'globalThis', 'window', 'global')) at(node, node.getText(source))
    else if (ts.isIdentifier(node) && node.text === 'eval' && !ts.isCallExpression(node.parent) && !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node)) at(node, 'eval')
    else if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && ['vm', 'node:vm'].includes(node.moduleSpecifier.text)) at(node, 'import of vm')
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0]) && ['vm', 'node:vm'].includes(node.arguments[0].text)) at(node, 'import of vm')
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

t.test('the check finds each way of compiling code, and not the words in comments or strings', async (t) => {
  const uses = [
    'const f = new Function("a", "return a")',
    'const f = Function("return 1")',
    'eval("1 + 1")',
    'const e = eval; e("1")',
    'globalThis.eval("1")',
    'new globalThis.Function("x")',
    'import vm from "node:vm"',
    'const vm = await import("vm")'
  ]
  for (const text of uses) t.equal(compiledCodeIn('x.ts', text).length, 1, text)
  t.same(compiledCodeIn('x.ts', '// no new Function, no eval(\nconst s = "new Function(eval)"\nconst evaluate = (x: number) => x\nconst o = { Function: 1 }.Function'), [])
})

t.test('no file under src/ compiles code at run time', async (t) => {
  const files = sourceFiles(SRC)
  t.ok(files.length > 50, `${files.length} source files read`)
  const found = files.flatMap((file) => compiledCodeIn(relative(SRC, file), readFileSync(file, 'utf8')))
  t.same(found, [], 'no new Function, Function(), eval or vm in src/')
})
