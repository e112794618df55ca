package daemon

import (
	"context"
	"fmt"
	"runtime/debug"
)

// callHook runs one of the service's hooks, turning a panic into an error so
// that a panicking Init is reported to whoever ran start.
func callHook(ctx context.Context, name string, hook func(context.Context) error) (err error) {
	if hook == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s panicked: %v\n%s", name, v, debug.Stack())
		}
	}()
	if err := hook(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
