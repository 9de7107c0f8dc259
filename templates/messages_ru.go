package templates

// russianMessage looks key up in the Russian catalog: one map per area, translating the
// English map of the same area key for key.
func russianMessage(key string) (string, bool) {
	for _, m := range russianAreas() {
		if s, ok := m[key]; ok {
			return s, true
		}
	}
	return "", false
}

// russianAreas are the maps of the Russian catalog, in englishAreas' order.
func russianAreas() []map[string]string {
	return []map[string]string{russian, accountMessagesRU, contactsMessagesRU, eventsMessagesRU, privacyMessagesRU, oauthMessagesRU, appsMessagesRU, recoveryMessagesRU, lifecycleMessagesRU, federationMessagesRU, cardMessagesRU, inviteMessagesRU, mfaMessagesRU, catalogMessagesRU}
}

// russian translates english (messages.go). Counted texts have the three Russian integer
// forms: one (1, 21, 101), few (2–4, 22–24) and many (0, 5–20, 25–30); other is for
// fractions.
var russian = map[string]string{
	// layout
	"app.lang":         "ru",
	"app.name":         "Facet",
	"app.tagline":      "Ваш профиль — ваши правила.",
	"nav.main":         "Главное меню",
	"nav.skip":         "Перейти к содержимому",
	"nav.login":        "Войти",
	"nav.register":     "Зарегистрироваться",
	"nav.logout":       "Выйти",
	"nav.account_menu": "Меню учётной записи %s",
	"nav.profile":      "Ваш профиль",
	"nav.events":       "Журнал событий",
	"footer.text":      "Facet оставляет ваш профиль под вашим контролем.",

	// home
	"home.title":        "Facet",
	"home.signed_out":   "В Facet вы храните свой профиль и решаете, какие приложения что видят.",
	"home.have_account": "Уже есть учётная запись?",
	"home.no_account":   "Впервые здесь?",

	// login
	"login.title":             "Вход",
	"login.heading":           "Вход в Facet",
	"login.continue_to":       "чтобы продолжить в %s",
	"login.email":             "Электронная почта или имя пользователя",
	"login.password":          "Пароль",
	"login.submit":            "Войти",
	"login.no_account":        "Ещё нет учётной записи?",
	"login.register_link":     "Создайте её",
	"login.failed":            "Неверная электронная почта, имя пользователя или пароль.",
	"login.throttled.one":     "Слишком много попыток. Повторите через %d минуту.",
	"login.throttled.few":     "Слишком много попыток. Повторите через %d минуты.",
	"login.throttled.many":    "Слишком много попыток. Повторите через %d минут.",
	"login.throttled.other":   "Слишком много попыток. Повторите через %d минуты.",
	"login.email_required":    "Введите адрес электронной почты или имя пользователя.",
	"login.password_required": "Введите пароль.",
	"login.logged_out":        "Вы вышли из учётной записи.",

	// register
	"register.title":            "Создание учётной записи",
	"register.heading":          "Создайте учётную запись Facet",
	"register.name":             "Имя",
	"register.name_hint":        "Необязательно. Кто его увидит, вы решите потом.",
	"register.email":            "Электронная почта",
	"register.password":         "Пароль",
	"register.password_hint":    "Не меньше 8 символов. Фразу из нескольких слов легко запомнить и трудно угадать.",
	"register.confirm":          "Повторите пароль",
	"register.submit":           "Создать учётную запись",
	"register.have_account":     "Уже есть учётная запись?",
	"register.login_link":       "Войти",
	"register.email_required":   "Введите адрес электронной почты.",
	"register.email_invalid":    "Введите адрес электронной почты вида name@example.com.",
	"register.password_short":   "Используйте не меньше 8 символов.",
	"register.password_long":    "Используйте не больше 128 символов.",
	"register.password_common":  "Этот пароль слишком распространён, его легко угадать. Выберите другой.",
	"register.password_invalid": "В пароле есть символы, которые нельзя использовать.",
	"register.confirm_mismatch": "Пароли не совпадают.",
	"register.name_long":        "Имя может быть не длиннее 200 символов.",
	"register.name_invalid":     "В имени есть символы, которые нельзя использовать.",

	// dates (Lang.Date, Lang.DateTime): day, month (genitive), year as text
	"date.long":           "%[1]s %[2]s %[3]s г.",
	"date.time":           "%[1]s %[2]s %[3]s, %[4]s",
	"date.month.1":        "января",
	"date.month.2":        "февраля",
	"date.month.3":        "марта",
	"date.month.4":        "апреля",
	"date.month.5":        "мая",
	"date.month.6":        "июня",
	"date.month.7":        "июля",
	"date.month.8":        "августа",
	"date.month.9":        "сентября",
	"date.month.10":       "октября",
	"date.month.11":       "ноября",
	"date.month.12":       "декабря",
	"date.month_short.1":  "янв.",
	"date.month_short.2":  "февр.",
	"date.month_short.3":  "мар.",
	"date.month_short.4":  "апр.",
	"date.month_short.5":  "мая",
	"date.month_short.6":  "июн.",
	"date.month_short.7":  "июл.",
	"date.month_short.8":  "авг.",
	"date.month_short.9":  "сент.",
	"date.month_short.10": "окт.",
	"date.month_short.11": "нояб.",
	"date.month_short.12": "дек.",

	// error
	"error.title":          "Что-то пошло не так",
	"error.reference":      "Номер обращения: %s",
	"error.reference_hint": "Если будете писать в поддержку, укажите этот номер.",
	"error.home":           "На главную страницу",
	"error.400.title":      "Запрос не удалось разобрать",
	"error.400.message":    "Отправленная форма неполна или повреждена.",
	"error.400.next":       "Вернитесь назад, обновите страницу и попробуйте ещё раз.",
	"error.403.title":      "Нет доступа",
	"error.403.message":    "Вам нельзя выполнить это действие.",
	"error.403.next":       "Если это ошибка, войдите под другой учётной записью.",
	"error.404.title":      "Страница не найдена",
	"error.404.message":    "По этому адресу ничего нет.",
	"error.404.next":       "Проверьте адрес или начните с главной страницы.",
	"error.405.title":      "Это действие здесь недоступно",
	"error.405.message":    "Страница не принимает запросы такого вида.",
	"error.405.next":       "Вернитесь назад и воспользуйтесь кнопками на странице.",
	"error.413.title":      "Слишком много данных",
	"error.413.message":    "Отправленная форма больше, чем принимает Facet.",
	"error.413.next":       "Вернитесь назад, сократите введённое и попробуйте ещё раз.",
	"error.429.title":      "Слишком много запросов",
	"error.429.message":    "За короткое время было слишком много попыток.",
	"error.429.next":       "Подождите несколько минут и попробуйте снова.",
	"error.500.title":      "У нас что-то сломалось",
	"error.500.message":    "Facet не смог выполнить ваш запрос. Вы ни в чём не виноваты.",
	"error.500.next":       "Попробуйте ещё раз чуть позже. Если ошибка повторяется, обратитесь в поддержку.",
	"error.503.title":      "Facet перегружен",
	"error.503.message":    "Facet сейчас не может ответить.",
	"error.503.next":       "Попробуйте ещё раз чуть позже.",

	// confirmations
	"confirm.cancel": "Отмена",
}
