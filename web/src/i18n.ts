// English and Russian: the dashboard's own labels, and country names from i18n-iso-countries (as the API's).
import countries from 'i18n-iso-countries'
import en from 'i18n-iso-countries/langs/en.json' with { type: 'json' }
import ru from 'i18n-iso-countries/langs/ru.json' with { type: 'json' }

countries.registerLocale(en)
countries.registerLocale(ru)

export type Lang = 'en' | 'ru'

const EN = {
  title: 'Migrant Health Exchange',
  skip: 'Skip to content',
  switchLanguage: 'Русский',
  signInTitle: 'Sign in',
  signInIntro: 'Your private key stays in this browser: the page imports it as a non-extractable key and signs its own short-lived assertions. Nothing of the key is sent.',
  partnerId: 'Partner id',
  privateKey: 'Private key (JWK)',
  privateKeyFile: 'Private key file (JWK)',
  privateKeyHint: 'Choose the file, or paste the JSON.',
  signIn: 'Sign in',
  signingIn: 'Signing in…',
  signOut: 'Sign out',
  signedInAs: 'Signed in as {id}',
  readerView: 'Reader',
  stewardView: 'Steward',
  region: 'Region',
  from: 'From',
  to: 'To',
  dimension: 'Break down by',
  none: 'nothing (totals)',
  show: 'Show',
  loading: 'Loading…',
  mapTitle: 'Records by country',
  mapNoCountry: 'Your grants cover this region’s totals only, not its countries one by one.',
  chartTitle: 'Over time, by {dim}',
  chartTotal: 'Over time',
  coverageTitle: 'Coverage: what each country has reported',
  coverageLegend: 'published (on time) · published late · open (not yet published) · not reported',
  published: 'published',
  publishedLate: 'published late',
  open: 'open',
  notReported: 'not reported',
  onTime: 'on time',
  late: 'late',
  country: 'Country',
  tableTitle: 'The answer',
  tableCaption: '{region}, {from} to {to}, by {by}: {n} cells; k = {k}',
  count: 'Count',
  protectedPrimary: 'protected',
  protectedSecondary: 'protected (secondary)',
  protectedNote: 'Protected cells (▨) hold too few records to show; they are not zeros. Months and groups with no records are not listed.',
  rowsOmitted: '{n} more rows are in the downloads.',
  downloads: 'Download',
  downloadCsv: 'CSV',
  downloadSdmx: 'SDMX-CSV',
  downloadFhir: 'FHIR',
  downloaded: 'Downloaded {file}.',
  notPublishedTitle: 'Not published in this answer',
  aboutTitle: 'About these numbers',
  aboutKOnly: 'Counts below {k} (1 to {below}) are not shown: they are marked protected, and enough other cells are hidden that they cannot be worked out from the rest.',
  aboutMethod: 'Method',
  aboutMethodCellKey: 'Counts carry small, consistent noise (cell-key method): the same records always give the same released count, so totals need not add up exactly.',
  aboutMethodNone: 'Exact counts: you read only your own country’s data.',
  aboutK: 'Smallest count shown (k)',
  aboutSensitiveK: 'k when a sensitive field is used',
  aboutD: 'Largest deviation (D)',
  aboutV: 'Noise variance (V)',
  aboutJs: 'Small counts never released unchanged below',
  aboutBudget: 'Distinct queries per day',
  aboutPtable: 'Perturbation table',
  records: 'records',
  noData: 'no records',
  notAvailable: 'Not available on this hub yet.',
  nothingToShow: 'Nothing to show for this choice.',
  consentsTitle: 'Consents: who may read my country’s data',
  reader: 'Reader',
  state: 'State',
  release: 'Release',
  until: 'Until',
  decidedAt: 'Decided',
  actions: 'Decision',
  grant: 'Grant',
  refuse: 'Refuse',
  pending: 'pending',
  granted: 'granted',
  refused: 'refused',
  releasePublished: 'published months',
  releaseLive: 'working data',
  consentSaved: 'Consent for {reader}: {state}.',
  noConsents: 'No reader’s grants reach your country.',
  publishTitle: 'Publish a month',
  month: 'Month',
  publish: 'Publish',
  publishedResult: 'Published {country} {period}: revision {revision}, {records} records.',
  accessTitle: 'Who read my data',
  at: 'When',
  action: 'Action',
  query: 'Query',
  cells: 'Cells',
  noAccess: 'No reads yet.',
  errBadKeyText: 'This is not a private key in JWK form: {why}',
  errKeyNeedsKidAlg: 'The key needs its "kid" and "alg" (as registered with the hub).',
  errKeyNotPrivate: 'This JWK has no private part: choose the private key file (…private.jwk), not the public one.',
  errNoKey: 'Choose your private key file or paste it.',
  errSignIn: 'The hub did not accept this partner id and key ({why}). Check both, and that the key is still active.',
  errExpired: 'Your session has expired and could not be renewed: sign in again.',
  errMissingGrants: 'You have no grant for: {list}. Ask the hub operator for one, or choose another region.',
  errMissingConsents: 'Not readable without the consent of: {list}. Their ministries have not consented (or have refused).',
  errForbidden: 'Not allowed: {why}',
  errTooMany: 'Too many requests: try again in {s} seconds.',
  errNetwork: 'The hub could not be reached. Check your connection and try again.',
  errServer: 'The hub could not answer ({status}). Try again in a moment.',
  errOther: 'The hub refused: {why}',
  errUnexpected: 'Something went wrong in this page: {why}',
  dismiss: 'Dismiss',
  nothingForRoles: 'This partner is neither a reader nor a steward: the dashboard has nothing to show it. Operators use the CLI (mhx admin …).'
}

export type MessageKey = keyof typeof EN

const RU: Record<MessageKey, string> = {
  title: 'Обмен данными о здоровье мигрантов',
  skip: 'Перейти к содержимому',
  switchLanguage: 'English',
  signInTitle: 'Вход',
  signInIntro: 'Ваш закрытый ключ остаётся в этом браузере: страница импортирует его как неизвлекаемый и сама подписывает краткосрочные утверждения. Ключ никуда не отправляется.',
  partnerId: 'Идентификатор партнёра',
  privateKey: 'Закрытый ключ (JWK)',
  privateKeyFile: 'Файл закрытого ключа (JWK)',
  privateKeyHint: 'Выберите файл или вставьте JSON.',
  signIn: 'Войти',
  signingIn: 'Вход…',
  signOut: 'Выйти',
  signedInAs: 'Вы вошли как {id}',
  readerView: 'Чтение',
  stewardView: 'Распорядитель',
  region: 'Регион',
  from: 'С',
  to: 'По',
  dimension: 'Разбивка по',
  none: 'без разбивки (итоги)',
  show: 'Показать',
  loading: 'Загрузка…',
  mapTitle: 'Записи по странам',
  mapNoCountry: 'Ваши права покрывают только итоги этого региона, а не отдельные страны.',
  chartTitle: 'Динамика по признаку «{dim}»',
  chartTotal: 'Динамика',
  coverageTitle: 'Охват: что сообщила каждая страна',
  coverageLegend: 'опубликовано (в срок) · опубликовано с опозданием · открыто (ещё не опубликовано) · нет данных',
  published: 'опубликовано',
  publishedLate: 'опубликовано с опозданием',
  open: 'открыто',
  notReported: 'нет данных',
  onTime: 'в срок',
  late: 'с опозданием',
  country: 'Страна',
  tableTitle: 'Ответ',
  tableCaption: '{region}, с {from} по {to}, по {by}: ячеек {n}; k = {k}',
  count: 'Число',
  protectedPrimary: 'защищено',
  protectedSecondary: 'защищено (вторично)',
  protectedNote: 'Защищённые ячейки (▨) содержат слишком мало записей, чтобы их показывать; это не нули. Месяцы и группы без записей не перечисляются.',
  rowsOmitted: 'Ещё {n} строк — в выгрузках.',
  downloads: 'Скачать',
  downloadCsv: 'CSV',
  downloadSdmx: 'SDMX-CSV',
  downloadFhir: 'FHIR',
  downloaded: 'Скачан файл {file}.',
  notPublishedTitle: 'Не опубликовано в этом ответе',
  aboutTitle: 'Об этих числах',
  aboutKOnly: 'Числа меньше {k} (от 1 до {below}) не показываются: они отмечены как защищённые, и скрыто достаточно других ячеек, чтобы их нельзя было вычислить.',
  aboutMethod: 'Метод',
  aboutMethodCellKey: 'К числам добавлен небольшой согласованный шум (метод ключей ячеек): одни и те же записи всегда дают одно и то же число, поэтому итоги могут не сходиться точно.',
  aboutMethodNone: 'Точные числа: вы читаете только данные своей страны.',
  aboutK: 'Наименьшее показываемое число (k)',
  aboutSensitiveK: 'k при использовании чувствительного поля',
  aboutD: 'Наибольшее отклонение (D)',
  aboutV: 'Дисперсия шума (V)',
  aboutJs: 'Малые числа не публикуются без изменений ниже',
  aboutBudget: 'Разных запросов в сутки',
  aboutPtable: 'Таблица возмущений',
  records: 'записей',
  noData: 'нет записей',
  notAvailable: 'Пока недоступно на этом узле.',
  nothingToShow: 'Для этого выбора нечего показать.',
  consentsTitle: 'Согласия: кто может читать данные моей страны',
  reader: 'Читатель',
  state: 'Состояние',
  release: 'Выпуск',
  until: 'До',
  decidedAt: 'Решено',
  actions: 'Решение',
  grant: 'Разрешить',
  refuse: 'Отказать',
  pending: 'ожидает',
  granted: 'разрешено',
  refused: 'отказано',
  releasePublished: 'опубликованные месяцы',
  releaseLive: 'рабочие данные',
  consentSaved: 'Согласие для {reader}: {state}.',
  noConsents: 'Права ни одного читателя не касаются вашей страны.',
  publishTitle: 'Опубликовать месяц',
  month: 'Месяц',
  publish: 'Опубликовать',
  publishedResult: 'Опубликовано {country} {period}: версия {revision}, записей {records}.',
  accessTitle: 'Кто читал мои данные',
  at: 'Когда',
  action: 'Действие',
  query: 'Запрос',
  cells: 'Ячеек',
  noAccess: 'Чтений пока не было.',
  errBadKeyText: 'Это не закрытый ключ в формате JWK: {why}',
  errKeyNeedsKidAlg: 'У ключа должны быть «kid» и «alg» (как при регистрации на узле).',
  errKeyNotPrivate: 'В этом JWK нет закрытой части: выберите файл закрытого ключа (…private.jwk), а не открытого.',
  errNoKey: 'Выберите файл закрытого ключа или вставьте его.',
  errSignIn: 'Узел не принял этот идентификатор и ключ ({why}). Проверьте оба и что ключ ещё действует.',
  errExpired: 'Сеанс истёк и не может быть продлён: войдите снова.',
  errMissingGrants: 'У вас нет прав на: {list}. Запросите их у оператора узла или выберите другой регион.',
  errMissingConsents: 'Недоступно без согласия: {list}. Их министерства не дали согласия (или отказали).',
  errForbidden: 'Запрещено: {why}',
  errTooMany: 'Слишком много запросов: повторите через {s} с.',
  errNetwork: 'Узел недоступен. Проверьте подключение и повторите.',
  errServer: 'Узел не смог ответить ({status}). Повторите чуть позже.',
  errOther: 'Узел отказал: {why}',
  errUnexpected: 'Ошибка на странице: {why}',
  dismiss: 'Закрыть',
  nothingForRoles: 'Этот партнёр не читатель и не распорядитель: панели нечего ему показать. Операторы пользуются CLI (mhx admin …).'
}

const DIMENSION_NAMES: Record<Lang, Record<string, string>> = {
  en: {
    period: 'month', country: 'country', countryOfOrigin: 'country of origin', subnationalArea: 'sub-national area',
    migrationStatus: 'migration status', migrationStage: 'migration stage', sex: 'sex', ageBand: 'age band',
    encounter: 'encounter', conditionGroup: 'condition group', screeningContext: 'screening context',
    screeningConsequence: 'screening consequence', insurance: 'insurance', outcome: 'outcome'
  },
  ru: {
    period: 'месяц', country: 'страна', countryOfOrigin: 'страна происхождения', subnationalArea: 'административная единица',
    migrationStatus: 'миграционный статус', migrationStage: 'этап миграции', sex: 'пол', ageBand: 'возрастная группа',
    encounter: 'обращение', conditionGroup: 'группа состояний', screeningContext: 'контекст скрининга',
    screeningConsequence: 'последствие скрининга', insurance: 'страхование', outcome: 'исход'
  }
}

let current: Lang = 'en'

export function language (): Lang { return current }
export function setLanguage (lang: Lang): void {
  current = lang
  document.documentElement.lang = lang
}

export function t (key: MessageKey, vars: Record<string, string | number> = {}): string {
  const template = current === 'ru' ? RU[key] : EN[key]
  return template.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? `{${name}}`))
}

export function dimensionName (dim: string): string {
  return DIMENSION_NAMES[current][dim] ?? dim
}

/** A country's name in the current language (alpha-3 in, the code itself when the package does not know it). */
export function countryName (code: string): string {
  return countries.getName(code, current) ?? code
}

export function alpha3OfNumeric (numeric: string | number): string | undefined {
  return countries.numericToAlpha3(String(numeric).padStart(3, '0'))
}

/** A value of a dimension as a reader should see it: countries by name, the absent value as a dash. */
export function valueLabel (dim: string, value: string | null | undefined): string {
  if (value === null || value === undefined || value === '_Z') return '—'
  if (dim === 'country' || dim === 'countryOfOrigin') return countryName(value)
  return value
}

export function formatCount (n: number): string {
  return n.toLocaleString(current === 'ru' ? 'ru-RU' : 'en-GB')
}
