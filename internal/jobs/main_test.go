package jobs_test

import (
	"log/slog"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// redisDB is this package's Redis database number: asynq's key names are
// fixed, so packages that test against Redis must not share one.
const redisDB = 2

func TestMain(m *testing.M) { testkit.Main(m) }

// bundle is what a test gets from setup besides the thing under test.
type bundle struct {
	redis     asynq.RedisConnOpt
	inspector *asynq.Inspector
	db        *database.DB // the app role, as the worker runs
	owner     *database.DB // the owner, for fixtures and checks
	logger    *slog.Logger
}

func setup(t *testing.T) bundle {
	t.Helper()
	testkit.Redis(t, redisDB) // flushes the package's database once, before anyone uses it
	opt, err := asynq.ParseRedisURI(testkit.RedisURL(t, redisDB))
	require.NoError(t, err)
	inspector := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = inspector.Close() })
	return bundle{
		redis:     opt,
		inspector: inspector,
		db:        testkit.DB(t),
		owner:     testkit.OwnerDB(t),
		logger:    slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
}
