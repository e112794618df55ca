package main

import (
	"context"
	"log"
)

// initService runs in the detached daemon before `webd start` returns.
// Open listeners, read configuration and check dependencies here: an error
// stops the start-up and is shown to whoever ran `webd start`.
func initService(ctx context.Context) error {
	return nil
}

// serve is the daemon's work. It runs until ctx is cancelled, on SIGTERM or
// SIGINT (`webd stop`), and should then return promptly.
func serve(ctx context.Context) error {
	log.Printf("%s: serving", name)
	<-ctx.Done()
	log.Printf("%s: stopping", name)
	return nil
}

// reload runs on SIGHUP (`webd reload`): re-read configuration, reopen
// files. An error is logged and the daemon keeps running.
func reload(ctx context.Context) error {
	log.Printf("%s: reloading", name)
	return nil
}
