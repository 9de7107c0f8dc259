package templates

// eventsMessages holds the catalog entries of the Event Log tab.
var eventsMessages = map[string]string{}
