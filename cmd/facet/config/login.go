package config

import (
	"time"

	"github.com/facetid/facet/profile/signin"
)

// LoginLimits are the login throttles of the login_limits_* keys; zero takes signin's
// default (the Settings rows document the same values).
type LoginLimits struct {
	PerIP          int           `koanf:"login_limits_per_ip"`
	IPWindow       time.Duration `koanf:"login_limits_ip_window"`
	AccountFree    int           `koanf:"login_limits_account_free"`
	BaseDelay      time.Duration `koanf:"login_limits_base_delay"`
	MaxDelay       time.Duration `koanf:"login_limits_max_delay"`
	AccountMemory  time.Duration `koanf:"login_limits_account_memory"`
	DeviceFailures int           `koanf:"login_limits_device_failures"`
}

// Signin is l as signin takes it.
func (l LoginLimits) Signin() signin.LoginLimits {
	return signin.LoginLimits{Window: l.IPWindow, PerIP: l.PerIP, AccountFree: l.AccountFree, BaseDelay: l.BaseDelay,
		MaxDelay: l.MaxDelay, AccountMemory: l.AccountMemory, DeviceFailures: l.DeviceFailures}
}
