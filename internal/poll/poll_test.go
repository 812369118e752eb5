package poll_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/walkerhq/walker/internal/poll"
)

// A server that accepts and never answers: HTTP gives up at its timeout
// instead of waiting on the request.
func TestHTTPGivesUpOnASilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- poll.HTTP(context.Background(), "http://"+ln.Addr().String()+"/", 200*time.Millisecond, 0)
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a server that never answered counted as up")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HTTP still waits on a silent server 10s after its 200ms timeout")
	}
}
