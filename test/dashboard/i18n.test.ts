// The dashboard's language files (web/src/i18n/<code>.json): every key in each, the same placeholders, country
// names as their governments and the UN write them, and none of the second wave's mistranslations.
import t from 'tap'
import countries from 'i18n-iso-countries'
import { languageFiles } from '../../web/build.js'

interface LanguageFile { name: string, locale: string, messages: Record<string, string>, countries: Record<string, string> }

const files = languageFiles() as Record<string, LanguageFile>
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

t.test('en and ru are shipped', async (t) => {
  t.ok(files.en && files.ru, 'en.json and ru.json')
})

t.test('every key exists in each language, with the same placeholders', async (t) => {
  const keys = new Set(Object.values(files).flatMap((f) => Object.keys(f.messages)))
  for (const [code, file] of Object.entries(files)) {
    t.ok(file.name && file.locale, `${code}: a name and a locale`)
    t.ok(new Intl.Locale(file.locale).language === code, `${code}: its locale is of its language`)
    const missing = [...keys].filter((k) => typeof file.messages[k] !== 'string' || file.messages[k].trim() === '')
    t.same(missing, [], `${code}: no key missing or empty`)
    for (const key of Object.keys(file.messages)) {
      if (placeholders(file.messages[key]).join() !== placeholders(files.en.messages[key] ?? '').join()) {
        t.fail(`${code}.${key}: placeholders ${placeholders(file.messages[key])} differ from en's`)
      }
    }
    for (const alpha3 of Object.keys(file.countries)) t.ok(countries.isValid(alpha3), `${code}: ${alpha3} is a country code`)
  }
})

t.test('Russian as a Russian-speaking epidemiologist writes it', async (t) => {
  const ru = files.ru
  t.equal(ru.countries.KGZ, 'Кыргызстан')
  t.equal(ru.countries.TKM, 'Туркменистан')
  const text = Object.values(ru.messages).join('\n')
  t.notMatch(text, /маргинал/i, 'not "маргиналы" (margins are итоги)')
  t.notMatch(text, /возмущ/i, 'not "возмущаются" (noise is added, шум)')
  t.notMatch(text, /Киргиз|Туркмения/, 'no Soviet-era country names')
})
