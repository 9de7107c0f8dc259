package templates

// eventsMessagesRU translates eventsMessages (messages_events.go). The table's long words
// carry soft hyphens (U+00AD), so a narrow column breaks them with a hyphen instead of
// pushing the table out of its card.
var eventsMessagesRU = map[string]string{
	// the Event Log tab (events.html)
	"events.title":                 "Журнал событий",
	"events.heading":               "Журнал событий",
	"events.intro":                 "Где и с каких устройств вы входили в Facet или в приложения и что менялось в вашей учётной записи. Если какое-то событие вам незнакомо, смените пароль.",
	"events.filter.label":          "Фильтр событий",
	"events.filter.category":       "Событие",
	"events.filter.group.app":      "Действия приложений",
	"events.filter.group.account":  "Ваша учётная запись",
	"events.filter.all_app":        "Все действия приложений",
	"events.filter.all_categories": "Все события",
	"events.filter.app":            "Приложение",
	"events.filter.all_apps":       "Все приложения",
	"events.filter.submit":         "Показать",
	"events.filter.clear":          "Показать все события",
	"events.table.caption":         "События вашей учётной записи, сначала новые. Время: %s.",
	"events.col.header":            "Событие",
	"events.col.time":              "Дата и время",
	"events.col.app":               "При\u00adло\u00adже\u00adние",
	"events.col.device":            "Устройство",
	"events.col.location":          "IP-адрес",
	"events.app.none":              "Facet",
	"events.unknown":               "Неизвестно",
	"events.empty":                 "Событий пока нет.",
	"events.empty_filtered":        "Нет событий, подходящих под фильтр.",
	"events.pages":                 "Другие события",
	"events.newest":                "Новые события",
	"events.older":                 "Более старые события",
	"events.retention_note":        "События хранятся ограниченное время, затем удаляются.",

	// event headers, one per category (profile/events.go)
	"events.category.login":            "Вход",
	"events.category.login_failed":     "Неудачная попытка входа",
	"events.category.logout":           "Выход",
	"events.category.registration":     "Учётная запись создана",
	"events.category.profile_updated":  "Профиль изменён",
	"events.category.photo_changed":    "Фото изменено",
	"events.category.photo_deleted":    "Фото удалено",
	"events.category.email_changed":    "Адрес электронной почты изменён",
	"events.category.email_verified":   "Адрес электронной почты подтверждён",
	"events.category.email_deleted":    "Адрес электронной почты удалён",
	"events.category.phone_changed":    "Номер телефона изменён",
	"events.category.phone_deleted":    "Номер телефона удалён",
	"events.category.password_changed": "Пароль изменён",
	"events.category.privacy_changed":  "Настройки приватности изменены",

	// app activity
	"events.category.app_consent_given":   "Приложению дан доступ",
	"events.category.app_consent_changed": "Разрешения приложения изменены",
	"events.category.app_consent_denied":  "Запрос приложения отклонён",
	"events.category.app_signin":          "Вход в приложение",
	"events.category.app_offline":         "Приложение остаётся на связи",
	"events.category.app_logout":          "Приложение завершило сеанс",

	// device types (from the User-Agent)
	"events.device.desktop": "Компьютер",
	"events.device.mobile":  "Телефон",
	"events.device.tablet":  "Планшет",
	"events.device.tv":      "Телевизор",
	"events.device.bot":     "Авто\u00adмати\u00adческий клиент",
	"events.device.cli":     "Командная строка",
	"events.device.unknown": "Неизвестное устройство",

	// detail labels (an event's details map)
	"events.detail.method": "Способ",
	"events.detail.fields": "Изменённые поля",
	"events.detail.scopes": "Разрешения",
	"events.detail.count":  "Количество",

	// details as sentences
	"events.says.separator":           ", ",
	"events.says.other":               "%s: %s",
	"events.says.fields":              "Изменено: %s",
	"events.says.level":               "%s: %s",
	"events.says.level.private":       "видите только вы",
	"events.says.level.on_request":    "приложения получают только с вашего согласия",
	"events.says.level.public":        "видят все",
	"events.says.private_profile.on":  "Закрытый профиль включён",
	"events.says.private_profile.off": "Закрытый профиль выключен",
	"events.says.method.password":     "По паролю",
	"events.says.claims":              "Передано с вашего разрешения: %s",
	"events.says.public":              "Передано, потому что вы открыли это для всех: %s",
	"events.says.declined":            "Не передано по вашему выбору: %s",
	"events.says.scopes":              "Разрешения: %s",
	"events.says.auth_time":           "По вашему входу в Facet от %s",

	// one event (event.html)
	"event.title":    "Событие",
	"event.back":     "Вернуться к журналу событий",
	"event.header":   "Событие",
	"event.time":     "Дата и время",
	"event.app":      "Приложение",
	"event.user":     "Пользователь",
	"event.device":   "Устройство",
	"event.browser":  "Браузер",
	"event.os":       "Операционная система",
	"event.location": "Местоположение (IP-адрес)",
	"event.details":  "Что произошло",
}
