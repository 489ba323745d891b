// Content negotiation: the representation an Accept header asks for, or none (406).
import t from 'tap'
import { CONTENT_TYPE, negotiate } from '../../../src/release/formats/index.js'

t.test('each format by its media type; q values and header order decide', async (t) => {
  t.equal(negotiate(undefined), 'json')
  t.equal(negotiate(''), 'json')
  t.equal(negotiate('*/*'), 'json')
  t.equal(negotiate('text/csv'), 'csv')
  t.equal(negotiate('application/vnd.sdmx.data+csv;version=2.0.0'), 'sdmx')
  t.equal(negotiate('application/vnd.sdmx.data+csv;version=1.0.0'), undefined, 'SDMX-CSV 1.0 is not offered')
  t.equal(negotiate('application/fhir+json'), 'fhir')
  t.equal(negotiate('application/fhir+json; fhirVersion=4.0'), 'fhir')
  t.equal(negotiate('application/json+fhir'), 'fhir', 'the pre-R4 FHIR media type')
  t.equal(negotiate('application/fhir+json; fhirVersion=3.0'), undefined, 'STU3 is not offered')
  t.equal(negotiate('application/adx+xml'), 'adx')
  t.equal(negotiate('application/xml'), undefined)
  t.equal(negotiate('application/adx+xml;q=0.5, application/fhir+json'), 'fhir')
  t.equal(negotiate('application/adx+xml, application/fhir+json'), 'adx')
  t.equal(negotiate('application/fhir+json;q=0, text/csv'), 'csv', 'q=0 refuses')
})

t.test('every format has a content type', async (t) => {
  t.match(CONTENT_TYPE.fhir, /^application\/fhir\+json; fhirVersion=4\.0/)
  t.match(CONTENT_TYPE.adx, /^application\/adx\+xml/)
})
