package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"example.com/acme/webd/internal/daemon"
)

// The runtime finds service's hooks when it runs; these lines turn a
// mistyped signature into a compile error. Remove one with its method, and
// add one when you add a hook: daemon.Commander for Commands, daemon.Environer
// for Environ.
var (
	_ daemon.Initializer = (*service)(nil)
	_ daemon.Reloader    = (*service)(nil)
	_ daemon.FlagDefiner = (*service)(nil)
)

// TestServeReturnsWhenCancelled checks what `webd stop` and `webd upgrade`
// rely on: Serve answers on the socket that Init opened, and returns,
// without error, once its context is cancelled.
func TestServeReturnsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &service{addr: "127.0.0.1:0"}
	if err := s.Init(ctx); err != nil {
		t.Fatalf("Init: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + s.listeners[0].Addr().String() + "/")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET: %s, want 200 OK", resp.Status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after its context was cancelled, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of its context being cancelled")
	}
}
