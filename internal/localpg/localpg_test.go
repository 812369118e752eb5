package localpg_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/walkerhq/walker/internal/localpg"
)

func TestClusterServesAnApplicationRoleAndIsRemoved(t *testing.T) {
	localpg.Require(t)
	ctx := context.Background()
	c, err := localpg.Start(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.CreateDatabase(ctx, "walker", "walker", "s3cr'et")
	if err != nil {
		c.Stop()
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		c.Stop()
		t.Fatal(err)
	}
	var who, db string
	if err := conn.QueryRow(ctx, "select current_user, current_database()").Scan(&who, &db); err != nil {
		t.Error(err)
	}
	conn.Close(ctx)
	if who != "walker" || db != "walker" {
		t.Errorf("connected as %s to %s", who, db)
	}
	dir := c.Dir()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster folder %s left behind", dir)
	}
}
