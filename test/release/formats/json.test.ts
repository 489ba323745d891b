// JSON: by values as named fields (absent null), disclosure beside k, and the labels map with ?labels=.
import t from 'tap'
import { render } from '../../../src/release/formats/index.js'
import type { Dimension } from '../../../src/release/dimensions.js'
import { answerOf, names, PUBLIC_URL, vocabulary } from './fixtures.js'

const answer = answerOf({
  by: ['country', 'ageBand', 'conditionGroup'],
  filters: { sex: ['female'] },
  cells: [
    { key: ['KAZ', '80+', 'tb'], count: 12, suppressed: null },
    { key: ['KGZ', '0-4', '_Z'], count: null, suppressed: 'primary' }
  ]
})

t.test('cells, disclosure and no labels unless asked', async (t) => {
  const body = JSON.parse(render(answer, 'json', { names, publicUrl: PUBLIC_URL }))
  t.same(body.cells, [
    { country: 'KAZ', ageBand: '80+', conditionGroup: 'tb', count: 12, suppressed: null },
    { country: 'KGZ', ageBand: '0-4', conditionGroup: null, count: null, suppressed: 'primary' }
  ])
  t.same(body.disclosure, { method: 'cellkey', ptable: 'v1' })
  t.notOk('labels' in body)
})

t.test('labels: per dimension, a name for every code shown (filters too), in the language asked', async (t) => {
  const en = JSON.parse(render(answer, 'json', { names, publicUrl: PUBLIC_URL, labels: 'en' })).labels
  t.same(en, {
    country: { KAZ: 'Kazakhstan', KGZ: 'Kyrgyzstan' },
    ageBand: { '80+': '80 years and over', '0-4': '0–4 years' },
    conditionGroup: { tb: 'Tuberculosis' },
    sex: { female: 'Female' }
  }, 'absent values (null) have no label')
  const ru = JSON.parse(render(answer, 'json', { names, publicUrl: PUBLIC_URL, labels: 'ru' })).labels
  t.equal(ru.country.KAZ, 'Казахстан')
  t.equal(ru.conditionGroup.tb, 'Туберкулёз')
  t.equal(ru.sex.female, 'Женский')
})

t.test('every enumerated code of every dimension has an English and a Russian name', async (t) => {
  const unnamed: string[] = []
  for (const [dim, codes] of Object.entries(vocabulary.enums)) {
    for (const code of codes ?? []) {
      for (const lang of ['en', 'ru'] as const) {
        if (names.code(dim as Dimension, code, lang) === code) unnamed.push(`${dim}=${code} (${lang})`)
      }
    }
  }
  t.same(unnamed, [])
  t.ok(Object.keys(vocabulary.enums).length >= 9, 'the enumerated dimensions were all looked at')
  t.equal(names.code('subnationalArea', 'KZ-75', 'en'), 'Almaty')
  t.equal(names.code('countryOfOrigin', 'unknown', 'ru'), 'Неизвестно')
})
