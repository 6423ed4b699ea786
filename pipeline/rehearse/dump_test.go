package rehearse

import (
	"encoding/json"
	"os"
	"testing"
)

func TestDump(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	dsn := shopCopy(t)
	dir := migrationsDir(t, map[string]string{
		"0001_index.sql":      "CREATE INDEX orders_code ON orders (code, amount);\nALTER TABLE orders ADD CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id);",
		"0002_concurrent.sql": "CREATE INDEX CONCURRENTLY orders_status ON orders (status, code, amount);",
	})
	rep, err := rehearse(t, dsn, Options{Migrations: dir, Traffic: "auto", TrafficClients: 4})
	b, _ := json.MarshalIndent(rep, "", " ")
	t.Logf("%s\n%v", b, err)
}
