package testdb

import (
	"context"
	"fmt"
	"testing"

	walker "github.com/walkerhq/walker/app"
	"github.com/walkerhq/walker/app/store"
)

// Rex is the dog of most tests.
var Rex = walker.Dog{Name: "Rex", Age: 3, Size: walker.SizeLG}

// Seed stores Rex and Alice, the dog and the walker of most tests.
func Seed(t testing.TB, s *store.Store) (walker.Dog, walker.Walker) {
	t.Helper()
	ctx := context.Background()
	d := Rex
	w := walker.Walker{Name: "Alice", Email: "alice@example.com"}
	if err := s.CreateDog(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWalker(ctx, &w); err != nil {
		t.Fatal(err)
	}
	return d, w
}

// CreateWalkers stores walkers of these names in this order, the i-th with
// the email wi@example.com.
func CreateWalkers(t testing.TB, s *store.Store, names ...string) []walker.Walker {
	t.Helper()
	var out []walker.Walker
	for i, n := range names {
		w := walker.Walker{Name: n, Email: fmt.Sprintf("w%d@example.com", i)}
		if err := s.CreateWalker(context.Background(), &w); err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}
