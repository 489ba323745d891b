// The language files of web/src/i18n/, gathered at build time by web/build.ts (one file per language).
declare module 'mhx:languages' {
  const languages: Record<string, unknown>
  export default languages
}
