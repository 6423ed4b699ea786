package job_test

import (
	"context"
	"log"
	"os"

	"github.com/understudy-dev/understudy/pipeline/config"
	"github.com/understudy-dev/understudy/pipeline/job"
	"github.com/understudy-dev/understudy/transforms"
)

// Sync copies a production database into an empty staging one, anonymizing it with the
// config's rules under a secret key: what `understudy sync` does. It needs two servers, so
// this example compiles but does not run.
func ExampleSync() {
	ctx := context.Background()
	cfg, err := config.Load("understudy.yaml")
	if err != nil {
		log.Fatal(err)
	}
	key, err := transforms.NewKey(os.Getenv("UNDERSTUDY_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	var o job.SyncOptions
	o.Source = config.DSN(os.Getenv("SOURCE_DSN"))
	o.Target = config.DSN(os.Getenv("TARGET_DSN"))
	o.Config = cfg
	o.Key = key
	o.Jobs = 4
	res, err := job.Sync(ctx, o)
	if err != nil {
		log.Fatal(err) // the target keeps its incomplete marker
	}
	log.Printf("copied %d rows in %d tables", res.Rows, len(res.Tables))
}
