package main

import (
	"context"
	"testing"
	"time"
)

// TestServeReturnsWhenCancelled checks what `webd stop` relies on: serve
// returns, without error, once its context is cancelled.
func TestServeReturnsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := initService(ctx); err != nil {
		t.Fatalf("initService: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- serve(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after its context was cancelled, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return within 10s of its context being cancelled")
	}
}
