package main

import (
	"github.com/spf13/pflag"

	"github.com/facetid/facet/oauth/registration"
)

// addAccessFlags adds the flags of who may use an app and where the catalog lists it.
func addAccessFlags(fs *pflag.FlagSet) {
	fs.Bool("closed", false, "invite-only: only users with access (an accepted invitation or grant-access) may sign in")
	fs.Bool("in-catalog", false, "list the app in the application catalog")
	fs.String("type", "", `the app's group in the catalog (e.g. "Productivity")`)
	fs.Bool("require-mfa", false, "admit only sign-ins with a second factor: a session without one is asked for it (step-up)")
}

// applyAccessFlags copies --closed, --in-catalog, --type and --require-mfa onto spec when given (all of
// them for create).
func applyAccessFlags(fs *pflag.FlagSet, spec *registration.Spec, all bool) error {
	var err error
	if all || fs.Changed("closed") {
		if spec.Closed, err = fs.GetBool("closed"); err != nil {
			return err
		}
	}
	if all || fs.Changed("in-catalog") {
		if spec.InCatalog, err = fs.GetBool("in-catalog"); err != nil {
			return err
		}
	}
	if all || fs.Changed("require-mfa") {
		if spec.RequireMFA, err = fs.GetBool("require-mfa"); err != nil {
			return err
		}
	}
	if all || fs.Changed("type") {
		if spec.Type, err = fs.GetString("type"); err != nil {
			return err
		}
	}
	return nil
}
