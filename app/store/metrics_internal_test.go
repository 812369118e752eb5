package store

import "testing"

func TestStatementTable(t *testing.T) {
	for _, c := range []struct{ op, query, want string }{
		{"INSERT", "INSERT INTO walks (dog_id, walker_id) VALUES (?, ?) RETURNING id", "walks"},
		{"UPDATE", "UPDATE walks SET distance = ? WHERE id = ?", "walks"},
		{"DELETE", `DELETE FROM "dogs" WHERE id = ?`, "dogs"},
		{"SELECT", "SELECT walks.id, dogs.name FROM walks JOIN dogs ON dogs.id = walks.dog_id", "walks"},
		{"SELECT", "SELECT * FROM (SELECT id FROM walks) w", ""},
		{"WITH", "WITH x AS (SELECT 1) SELECT * FROM x", ""},
	} {
		if got := statementTable(c.op, c.query); got != c.want {
			t.Errorf("statementTable(%q, %q) = %q, want %q", c.op, c.query, got, c.want)
		}
	}
}
