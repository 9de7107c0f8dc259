package templates

// contactsMessages holds the catalog entries of the Contacts block: email and phone verification, and the profile photo.
var contactsMessages = map[string]string{}
