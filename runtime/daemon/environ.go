package daemon

import (
	"os"
	"strings"
)

// cleanPath is the PATH of a clean environment: the system's directories,
// as systemd gives its services.
const cleanPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// CleanEnviron returns the environment daemon(7) asks a daemon to start
// with (step 4): none of the variables it inherited but the locale (LANG,
// LANGUAGE, LC_*) and the time zone (TZ), and a PATH of the system's
// directories. An Environer returns it to run the daemon with it:
//
//	func (s *service) Environ(inherited []string) []string {
//		return daemon.CleanEnviron(inherited)
//	}
//
// The variables of a service manager (NOTIFY_SOCKET, LISTEN_FDS, ...), and
// those in which systemd tells the service of itself (STATE_DIRECTORY and
// the other directories, CREDENTIALS_DIRECTORY, INVOCATION_ID), are kept by
// run in any case.
func CleanEnviron(inherited []string) []string {
	env := []string{cleanPath}
	for _, kv := range inherited {
		name, _, ok := strings.Cut(kv, "=")
		if ok && (name == "LANG" || name == "LANGUAGE" || name == "TZ" || strings.HasPrefix(name, "LC_")) {
			env = append(env, kv)
		}
	}
	return env
}

// startEnviron is the environment a start passes on: cfg.Env, or this
// process's if cfg.Env is nil (Config.Env).
func startEnviron(cfg Config) []string {
	if cfg.Env == nil {
		return os.Environ()
	}
	return cfg.Env
}
