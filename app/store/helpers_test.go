package store_test

import (
	"os"
	"testing"
)

// migrationFiles counts the migrations of a vendor's folder, as embedded.
func migrationFiles(t *testing.T, vendor string) float64 {
	t.Helper()
	dir := map[string]string{"postgresql": "migrations/postgres", "sqlite": "migrations/sqlite"}[vendor]
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("migrations of %s: %d files, %v", vendor, len(entries), err)
	}
	return float64(len(entries))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
