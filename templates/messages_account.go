package templates

// accountMessages holds the catalog entries of the personal account pages: profile blocks, editing, complete-your-profile, password.
var accountMessages = map[string]string{}
