package templates

// oauthMessagesRU translates oauthMessages (messages_oauth.go).
var oauthMessagesRU = map[string]string{
	// logout (RP-initiated logout confirmation and result)
	"logout.title_done":    "Выход выполнен",
	"logout.title_ask":     "Выйти?",
	"logout.done_heading":  "Вы вышли",
	"logout.done_text":     "На этом устройстве вы больше не в Facet.",
	"logout.done_return":   "Можно закрыть это окно или вернуться в %s.",
	"logout.home":          "На главную страницу",
	"logout.ask_heading":   "Выйти из Facet?",
	"logout.app_asks":      "%s просит вас выйти.",
	"logout.signed_in_as":  "Вы вошли как %s.",
	"logout.explain":       "Выход завершает сеанс Facet на этом устройстве; приложения, которыми вы пользуетесь, попросят войти снова.",
	"logout.submit":        "Выйти",
	"logout.stay":          "Не выходить",
	"logout.not_signed_in": "На этом устройстве вы не вошли в Facet.",

	// demo app
	"demo.title":           "Демо-приложение",
	"demo.app_name":        "Заметки (демо-приложение)",
	"demo.app_tagline":     "Отдельное приложение, которое входит через Facet",
	"demo.footer":          "Это приложение-пример не входит в Facet: оно видит только то, что вы разрешили ему на странице согласия Facet.",
	"demo.intro":           "Пример приложения, встроенный в этот Facet. Оно входит через Facet так же, как любое приложение (OpenID Connect, код авторизации с PKCE), и показывает, что Facet ему передал.",
	"demo.signed_out":      "Вы вышли из Facet.",
	"demo.signed_in":       "Вход выполнен. Ваш идентификатор для этого приложения:",
	"demo.id_token_claims": "Утверждения ID-токена",
	"demo.userinfo":        "Userinfo",
	"demo.logout":          "Выйти",
	"demo.back":            "Вернуться к началу демо",
	"demo.sign_in":         "Войти через Facet",
	"demo.issuer":          "Издатель",
	"demo.client":          "клиент",
	// demo errors (demoPage.Error holds one of these keys; ErrorDetail adds what Facet said)
	"demo.error.discovery":       "Демо-приложение не получило документ обнаружения Facet. Проверьте, что в настройке issuer указан адрес, по которому доступен этот сервер.",
	"demo.error.start":           "Демо-приложение не смогло начать вход. Попробуйте ещё раз.",
	"demo.error.expired":         "Этот вход устарел или уже завершён. Начните заново кнопкой ниже.",
	"demo.error.state":           "Ответ Facet не относится к этому входу (state не совпадает). Начните заново.",
	"demo.error.issuer":          "Ответ пришёл не от того издателя, через которого входило приложение.",
	"demo.error.answered":        "Facet ответил ошибкой:",
	"demo.error.exchange":        "Facet отказался обменять код авторизации на токены. Начните заново.",
	"demo.error.no_id_token":     "В ответе Facet с токенами нет ID-токена.",
	"demo.error.id_token":        "ID-токен от Facet не прошёл проверку.",
	"demo.error.nonce":           "Nonce в ID-токене не совпадает с этим входом.",
	"demo.error.claims":          "Утверждения ID-токена не удалось прочитать.",
	"demo.error.userinfo":        "Конечная точка userinfo в Facet ответила не так, как ожидалось.",
	"demo.error.userinfo_claims": "Ответ userinfo не удалось прочитать.",

	// cross-origin refusal (cmd's http.CrossOriginProtection deny handler)
	"crossorigin.title":   "Запрос отклонён",
	"crossorigin.message": "Эта форма отправлена с другого сайта, поэтому Facet её отклонил.",
	"crossorigin.next":    "Вернитесь в Facet, обновите страницу и попробуйте ещё раз.",

	// authorization requests that cannot be answered with a redirect to the app
	"authorize.error.title":          "Эта ссылка для входа не работает",
	"authorize.error.message":        "Приложение отправило запрос, который Facet не может принять.",
	"authorize.error.unknown_client": "Приложение, которое вас сюда направило, не зарегистрировано в Facet.",
	"authorize.error.redirect_uri":   "Приложение попросило Facet вернуть вас на адрес, который оно не регистрировало, поэтому Facet остановился здесь, чтобы вас защитить.",
	"authorize.error.next":           "Вернитесь в приложение и попробуйте ещё раз. Если ошибка повторяется, напишите в поддержку приложения.",

	// form_post response (the page that posts the authorization response to the app)
	"formpost.title":    "Возвращение в приложение",
	"formpost.heading":  "Возвращаем вас в приложение",
	"formpost.text":     "Если приложение не открылось само, нажмите «Продолжить».",
	"formpost.continue": "Продолжить",
	"closed.title":      "Только по приглашению",
	"closed.heading":    "%s — только по приглашению",
	"closed.message":    "Войти в %s могут только люди, приглашённые его администраторами, а у вашей учётной записи приглашения нет.",
	"closed.next":       "Если вы ожидали доступа, попросите администраторов приложения прислать приглашение на адрес электронной почты вашей учётной записи.",
	"closed.back":       "Вернуться в %s",
	"closed.profile":    "Перейти в профиль",
}
