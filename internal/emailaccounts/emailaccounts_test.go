package emailaccounts_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/civil"
	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// clock is a settable time for the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type bundle struct {
	svc    *emailaccounts.Service
	db     *database.DB
	owner  *database.DB
	org    uuid.UUID
	admin  access.Actor // an owner signed in
	member access.Actor
	key    access.Actor
	clock  *clock
	oauth  *fakeOAuth
	pool   []byte
}

func setup(t *testing.T) *bundle {
	t.Helper()
	kr, err := secrets.NewKeyring(map[string][]byte{"test": []byte("0123456789abcdef0123456789abcdef")}, "test")
	require.NoError(t, err)
	db := testkit.DB(t)
	owner := testkit.OwnerDB(t)
	ctx := context.Background()
	org, user := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	_, err = owner.Pool.Exec(ctx, `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Mail Org', $2)`, org, "mail-"+org.String())
	require.NoError(t, err)
	_, err = owner.Pool.Exec(ctx, `INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')`, user, "u-"+user.String()+"@example.com")
	require.NoError(t, err)
	_, err = owner.Pool.Exec(ctx, `INSERT INTO memberships (id, org_id, user_id, role) VALUES ($1, $2, $3, 'owner')`, uuid.Must(uuid.NewV7()), org, user)
	require.NoError(t, err)
	cl := &clock{t: time.Now()}
	fo := newFakeOAuth(t)
	b := &bundle{db: db, owner: owner, org: org, clock: cl, oauth: fo,
		admin:  access.Actor{OrgID: org, UserID: user, Role: access.RoleOwner},
		member: access.Actor{OrgID: org, UserID: uuid.Must(uuid.NewV7()), Role: access.RoleMember},
		key:    access.Actor{OrgID: org, Role: access.RoleAdmin, APIKeyID: uuid.Must(uuid.NewV7())},
	}
	b.svc = b.service(t, kr, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	return b
}

func (b *bundle) service(t *testing.T, kr *secrets.Keyring, allow []netip.Prefix) *emailaccounts.Service {
	t.Helper()
	return emailaccounts.NewService(b.db, kr, emailaccounts.Options{
		AllowCIDRs: allow, ConnectTimeout: 2 * time.Second, TestTimeout: 5 * time.Second,
		Google: b.oauth.provider("google"), Microsoft: b.oauth.provider("microsoft"),
		HTTPClient: b.oauth.srv.Client(), RootCAs: testPool, Clock: b.clock.Now,
	})
}

func (b *bundle) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	_, err := b.owner.Pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

func (b *bundle) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func ptr[T any](v T) *T { return &v }

func requireInvalid(t *testing.T, err error, field, code string) {
	t.Helper()
	f, ok := fault.As(err)
	require.True(t, ok, "want a fault, got %v", err)
	require.Equal(t, fault.KindInvalid, f.Kind, "%v", err)
	for _, fe := range f.Fields {
		if fe.Field == field && fe.Code == code {
			return
		}
	}
	t.Fatalf("no field error %s %s in %+v", field, code, f.Fields)
}

func requireKind(t *testing.T, err error, k fault.Kind, code string) {
	t.Helper()
	f, ok := fault.As(err)
	require.True(t, ok, "want a fault, got %v", err)
	require.Equal(t, k, f.Kind, "%v", err)
	if code != "" {
		require.Equal(t, code, f.Code)
	}
}

func (b *bundle) custom(t *testing.T, smtpPort, imapPort int, smtpMode, imapMode, password string) emailaccounts.Account {
	t.Helper()
	acc, err := b.svc.Create(context.Background(), b.admin, emailaccounts.New{
		Provider: emailaccounts.ProviderCustom, EmailAddress: "Sales-" + strconv.Itoa(smtpPort) + "-" + strconv.Itoa(imapPort) + "@Example.com", DisplayName: ptr("Sales"),
		Server: emailaccounts.Server{SMTPHost: ptr("127.0.0.1"), SMTPPort: &smtpPort, SMTPTLSMode: &smtpMode,
			IMAPHost: ptr("127.0.0.1"), IMAPPort: &imapPort, IMAPTLSMode: &imapMode, Username: ptr("alice"), Password: &password},
	})
	require.NoError(t, err)
	return acc
}

func (b *bundle) sandbox(t *testing.T, addr string) emailaccounts.Account {
	t.Helper()
	acc, err := b.svc.Create(context.Background(), b.admin, emailaccounts.New{Provider: emailaccounts.ProviderSandbox, EmailAddress: addr, DisplayName: ptr("Sandy")})
	require.NoError(t, err)
	return acc
}

func TestDailyCap(t *testing.T) {
	t.Parallel()
	start := civil.Date{Year: 2026, Month: 11, Day: 1}
	day := func(n int) civil.Date { return start.AddDays(n) }
	for _, tc := range []struct {
		name    string
		limit   int
		warmup  bool
		today   civil.Date
		wantCap int
	}{
		{"WithoutWarmupTheLimit", 500, false, day(0), 500},
		{"ZeroLimitSendsNothing", 0, true, day(30), 0},
		{"FirstDayStartsAtTen", 500, true, day(0), 10},
		{"SecondDayAddsAtLeastFive", 500, true, day(1), 15},
		{"ThenTwentyPercent", 500, true, day(5), 36},
		{"DayTen", 500, true, day(10), 87},
		{"NeverAboveTheLimit", 50, true, day(30), 50},
		{"ReachesFiftyOnDaySeven", 50, true, day(7), 50},
		{"StillBelowFiftyOnDaySix", 50, true, day(6), 43},
		{"ReachesTwoThousandOnDayTwentyEight", 2000, true, day(28), 2000},
		{"BelowTwoThousandOnDayTwentySeven", 2000, true, day(27), 1868},
		{"LimitBelowTheStart", 3, true, day(0), 3},
		{"StartInTheFutureCountsAsToday", 500, true, day(-3), 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.wantCap, emailaccounts.DailyCap(tc.limit, tc.warmup, start, tc.today))
		})
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("CustomAccountKeepsItsPasswordSealed", func(t *testing.T) {
		acc := b.custom(t, 2525, 1143, emailaccounts.TLSStartTLS, emailaccounts.TLSImplicit, "s3cret-pass")
		require.Equal(t, "sales-2525-1143@example.com", acc.EmailAddress)
		require.True(t, acc.CredentialsSet)
		require.False(t, acc.OAuthConnected)
		require.Equal(t, emailaccounts.StatusPending, acc.ConnectionStatus)
		require.Equal(t, 50, acc.DailySendLimit)
		require.Equal(t, 10, acc.CurrentDailyCap, "warm-up starts at 10")
		require.Equal(t, emailaccounts.DefaultCustomMaxDailyLimit, acc.MaxDailySendLimit)
		res, err := json.Marshal(acc.Resource())
		require.NoError(t, err)
		require.NotContains(t, string(res), "s3cret-pass")
		var stored string
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT credentials_encrypted FROM email_accounts WHERE id = $1`, acc.ID).Scan(&stored))
		require.NotContains(t, stored, "s3cret-pass")
		var data string
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT data::text FROM events WHERE object_id = $1 AND type = 'email_account.created'`, acc.ID).Scan(&data))
		require.Contains(t, data, `"password_set": true`)
		require.NotContains(t, data, "s3cret-pass")
	})

	t.Run("SandboxNeedsOnlyAnAddress", func(t *testing.T) {
		acc := b.sandbox(t, "try@sandbox.test")
		require.Equal(t, emailaccounts.ProviderSandbox, acc.Provider)
		require.Equal(t, emailaccounts.StatusConnected, acc.ConnectionStatus)
		require.Equal(t, emailaccounts.SandboxMaxDailyLimit, acc.MaxDailySendLimit)
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM email_accounts WHERE id = $1 AND sandbox`, acc.ID))
	})

	t.Run("ValidationErrorsChangeNothing", func(t *testing.T) {
		before := b.count(t, `SELECT count(*) FROM email_accounts WHERE org_id = $1`, b.org)
		_, err := b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderCustom, EmailAddress: "x@example.com"})
		requireInvalid(t, err, "/smtp_host", "required")
		requireInvalid(t, err, "/password", "required")
		_, err = b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderSandbox, EmailAddress: "y@example.com",
			Server: emailaccounts.Server{SMTPHost: ptr("smtp.example.com")}})
		requireInvalid(t, err, "/smtp_host", "not_applicable")
		_, err = b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderGmail, EmailAddress: "z@gmail.com"})
		requireInvalid(t, err, "/provider", "oauth_only")
		_, err = b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderSandbox, EmailAddress: "not an address"})
		requireInvalid(t, err, "/email_address", "invalid_email")
		_, err = b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderCustom, EmailAddress: "w@example.com",
			DailySendLimit: ptr(5001), Server: emailaccounts.Server{SMTPHost: ptr("smtp.example.com"), IMAPHost: ptr("imap.example.com"),
				SMTPTLSMode: ptr("ssl"), Username: ptr("w"), Password: ptr("p")}})
		requireInvalid(t, err, "/daily_send_limit", "above_provider_maximum")
		requireInvalid(t, err, "/smtp_tls_mode", "invalid")
		_, err = b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderSandbox, EmailAddress: "v@example.com", DailySendLimit: ptr(-1)})
		requireInvalid(t, err, "/daily_send_limit", "out_of_range")
		require.Equal(t, before, b.count(t, `SELECT count(*) FROM email_accounts WHERE org_id = $1`, b.org))
	})

	t.Run("SameAddressTwiceIsAConflict", func(t *testing.T) {
		b.sandbox(t, "twice@sandbox.test")
		_, err := b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderSandbox, EmailAddress: "TWICE@sandbox.test"})
		requireKind(t, err, fault.KindConflict, "email_account_exists")
	})

	t.Run("MembersReadButDoNotCreate", func(t *testing.T) {
		_, err := b.svc.Create(ctx, b.member, emailaccounts.New{Provider: emailaccounts.ProviderSandbox, EmailAddress: "m@sandbox.test"})
		requireKind(t, err, fault.KindForbidden, "")
		rows, _, err := b.svc.List(ctx, b.member, emailaccounts.Filter{}, pagination.Page{Limit: 100})
		require.NoError(t, err)
		require.NotEmpty(t, rows)
		_, err = b.svc.Create(ctx, b.key, emailaccounts.New{Provider: emailaccounts.ProviderSandbox, EmailAddress: "key@sandbox.test"})
		require.NoError(t, err, "API keys manage accounts")
	})
}

func TestListGetUpdateDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.custom(t, 2526, 1144, emailaccounts.TLSStartTLS, emailaccounts.TLSImplicit, "pw")
	s1 := b.sandbox(t, "one@sandbox.test")
	s2 := b.sandbox(t, "two@sandbox.test")

	t.Run("ListsNewestFirstAndFilters", func(t *testing.T) {
		rows, next, err := b.svc.List(ctx, b.admin, emailaccounts.Filter{}, pagination.Page{Limit: 2})
		require.NoError(t, err)
		require.Len(t, rows, 2)
		require.Equal(t, s2.ID, rows[0].ID)
		require.NotNil(t, next)
		page, err := pagination.Parse(ptr(2), next)
		require.NoError(t, err)
		rows, next, err = b.svc.List(ctx, b.admin, emailaccounts.Filter{}, page)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.Equal(t, c.ID, rows[0].ID)
		require.Nil(t, next)
		rows, _, err = b.svc.List(ctx, b.admin, emailaccounts.Filter{Provider: emailaccounts.ProviderCustom}, pagination.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		rows, _, err = b.svc.List(ctx, b.admin, emailaccounts.Filter{Status: emailaccounts.StatusConnected}, pagination.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, rows, 2, "sandboxes are connected")
	})

	t.Run("PatchChangesLimitsAndCredentials", func(t *testing.T) {
		acc, err := b.svc.Update(ctx, b.admin, c.ID, emailaccounts.Patch{DisplayName: ptr("Sales team"), DailySendLimit: ptr(200),
			WarmupEnabled: ptr(false), Server: emailaccounts.Server{Password: ptr("new-pw"), SMTPPort: ptr(465), SMTPTLSMode: ptr("tls")}})
		require.NoError(t, err)
		require.Equal(t, "Sales team", *acc.DisplayName)
		require.Equal(t, 200, acc.CurrentDailyCap, "no warm-up: the limit")
		require.Equal(t, 465, acc.SMTPPort)
		require.Equal(t, emailaccounts.StatusPending, acc.ConnectionStatus)
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE object_id = $1 AND type = 'email_account.updated'`, c.ID))
		acc, err = b.svc.Update(ctx, b.admin, c.ID, emailaccounts.Patch{IsActive: ptr(false)})
		require.NoError(t, err)
		require.False(t, acc.IsActive)
		require.Equal(t, emailaccounts.StatusDisabled, acc.ConnectionStatus)
		require.Zero(t, acc.CurrentDailyCap, "an inactive account sends nothing")
		rows, _, err := b.svc.List(ctx, b.admin, emailaccounts.Filter{IsActive: ptr(false)}, pagination.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		acc, err = b.svc.Update(ctx, b.admin, c.ID, emailaccounts.Patch{IsActive: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, emailaccounts.StatusPending, acc.ConnectionStatus, "to be tested again")
		acc, err = b.svc.Update(ctx, b.admin, c.ID, emailaccounts.Patch{IsActive: ptr(false)})
		require.NoError(t, err)
	})

	t.Run("PatchRefusesBadInputAndChangesNothing", func(t *testing.T) {
		_, err := b.svc.Update(ctx, b.admin, s1.ID, emailaccounts.Patch{Server: emailaccounts.Server{Password: ptr("x")}})
		requireInvalid(t, err, "/password", "not_applicable")
		_, err = b.svc.Update(ctx, b.admin, c.ID, emailaccounts.Patch{DailySendLimit: ptr(999999), DisplayName: ptr("Never")})
		requireInvalid(t, err, "/daily_send_limit", "above_provider_maximum")
		got, err := b.svc.Get(ctx, b.admin, c.ID)
		require.NoError(t, err)
		require.Equal(t, "Sales team", *got.DisplayName)
		_, err = b.svc.Update(ctx, b.admin, uuid.Must(uuid.NewV7()), emailaccounts.Patch{IsActive: ptr(true)})
		requireKind(t, err, fault.KindNotFound, "")
	})

	t.Run("SentTodayCountsOnlyTodayInTheOrgsZone", func(t *testing.T) {
		b.exec(t, `UPDATE organizations SET settings = jsonb_set(settings, '{timezone}', '"Pacific/Kiritimati"') WHERE id = $1`, b.org)
		loc, err := time.LoadLocation("Pacific/Kiritimati")
		require.NoError(t, err)
		today := emailaccounts.Today(b.clock.Now(), loc)
		b.exec(t, `UPDATE email_accounts SET emails_sent_today = 7, sent_today_date = $2 WHERE id = $1`, s1.ID, today.String())
		got, err := b.svc.Get(ctx, b.admin, s1.ID)
		require.NoError(t, err)
		require.Equal(t, 7, got.SentToday)
		b.exec(t, `UPDATE email_accounts SET sent_today_date = $2 WHERE id = $1`, s1.ID, today.AddDays(-1).String())
		got, err = b.svc.Get(ctx, b.admin, s1.ID)
		require.NoError(t, err)
		require.Zero(t, got.SentToday, "yesterday's count is not today's")
	})

	t.Run("WarmupProgressesWithTheDays", func(t *testing.T) {
		b.exec(t, `UPDATE email_accounts SET warmup_started_at = now() - interval '10 days', daily_send_limit = 500 WHERE id = $1`, s2.ID)
		got, err := b.svc.Get(ctx, b.admin, s2.ID)
		require.NoError(t, err)
		require.True(t, got.Warmup.Enabled)
		require.InDelta(t, 10, got.Warmup.Day, 1)
		require.False(t, got.Warmup.Complete)
		require.Equal(t, emailaccounts.DailyCap(500, true, civil.Date{}.AddDays(0), civil.Date{}.AddDays(got.Warmup.Day)), got.CurrentDailyCap)
	})

	t.Run("DeleteRecordsTheEvent", func(t *testing.T) {
		require.NoError(t, b.svc.Delete(ctx, b.admin, s2.ID))
		_, err := b.svc.Get(ctx, b.admin, s2.ID)
		requireKind(t, err, fault.KindNotFound, "")
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE object_id = $1 AND type = 'email_account.deleted'`, s2.ID))
	})

	t.Run("DeleteIsRefusedWhenMessagesWereSent", func(t *testing.T) {
		camp, lead := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		b.exec(t, `INSERT INTO campaigns (id, org_id, name, source) VALUES ($1, $2, 'C', 'manual')`, camp, b.org)
		b.exec(t, `INSERT INTO leads (id, org_id, campaign_id, email) VALUES ($1, $2, $3, 'lead@example.com')`, lead, b.org, camp)
		b.exec(t, `INSERT INTO messages (id, org_id, campaign_id, lead_id, channel, step, body_text, status, email_account_id)
			VALUES ($1, $2, $3, $4, 'email', 1, 'hi', 'sent', $5)`, uuid.Must(uuid.NewV7()), b.org, camp, lead, s1.ID)
		err := b.svc.Delete(ctx, b.admin, s1.ID)
		requireKind(t, err, fault.KindConflict, "email_account_in_use")
		_, err = b.svc.Get(ctx, b.admin, s1.ID)
		require.NoError(t, err, "still there")
		require.Zero(t, b.count(t, `SELECT count(*) FROM events WHERE object_id = $1 AND type = 'email_account.deleted'`, s1.ID), "no event for a refused delete")
	})
}

func TestConnectionTest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	smtpSrv := startSMTP(t, testCertificate.cert, "alice", "right-password", "")
	imapTLS := startIMAP(t, testCertificate.cert, "alice", "right-password", true)
	imapPlain := startIMAP(t, testCertificate.cert, "alice", "right-password", false)

	t.Run("SucceedsWithSTARTTLSAndImplicitTLS", func(t *testing.T) {
		acc := b.custom(t, smtpSrv.addr.Port, imapTLS.Port, emailaccounts.TLSStartTLS, emailaccounts.TLSImplicit, "right-password")
		res, err := b.svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.True(t, res.OK, "%+v", res.Steps)
		var names []string
		for _, s := range res.Steps {
			names = append(names, s.Name)
		}
		require.Equal(t, []string{"smtp_connect", "smtp_ehlo", "smtp_starttls", "smtp_auth", "imap_connect", "imap_tls", "imap_login", "imap_select"}, names)
		require.Contains(t, res.Steps[7].Detail, "1 messages")
		require.Equal(t, emailaccounts.StatusConnected, res.Account.ConnectionStatus)
		require.Nil(t, res.Account.LastError)
		require.NotNil(t, res.Account.LastTestedAt)
		require.Contains(t, smtpSrv.Logins(), "PLAIN:alice")
	})

	t.Run("IMAPWithSTARTTLS", func(t *testing.T) {
		acc := b.custom(t, smtpSrv.addr.Port, imapPlain.Port, emailaccounts.TLSStartTLS, emailaccounts.TLSStartTLS, "right-password")
		res, err := b.svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.True(t, res.OK, "%+v", res.Steps)
		require.Equal(t, "imap_starttls", res.Steps[5].Name)
	})

	t.Run("WrongPasswordSaysWhichStepFailed", func(t *testing.T) {
		acc, err := b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderCustom, EmailAddress: "wrong@example.com",
			Server: emailaccounts.Server{SMTPHost: ptr("127.0.0.1"), SMTPPort: ptr(smtpSrv.addr.Port), IMAPHost: ptr("127.0.0.1"),
				IMAPPort: ptr(imapTLS.Port), Username: ptr("alice"), Password: ptr("wrong-password")}})
		require.NoError(t, err)
		res, err := b.svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.False(t, res.OK)
		var smtpAuth, imapLogin emailaccounts.Step
		for _, s := range res.Steps {
			switch s.Name {
			case "smtp_auth":
				smtpAuth = s
			case "imap_login":
				imapLogin = s
			}
		}
		require.False(t, smtpAuth.OK)
		require.Contains(t, smtpAuth.Detail, "the server refused the login of alice")
		require.Contains(t, smtpAuth.Detail, "535")
		require.False(t, imapLogin.OK)
		require.Contains(t, imapLogin.Detail, "the server refused the login of alice")
		require.Equal(t, emailaccounts.StatusError, res.Account.ConnectionStatus)
		require.NotNil(t, res.Account.LastError)
		require.True(t, strings.HasPrefix(*res.Account.LastError, "smtp_auth: "), *res.Account.LastError)
		var source *string
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT error_source FROM email_accounts WHERE id = $1`, acc.ID).Scan(&source))
		require.Nil(t, source, "both sides failed: either side's success clears it")

		// One side with no server listening: the error is that side's, and
		// only its own success clears it.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closed := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		for _, c := range []struct {
			side, step         string
			smtpPort, imapPort int
		}{
			{"imap", "imap_connect: ", smtpSrv.addr.Port, closed},
			{"smtp", "smtp_connect: ", closed, imapPlain.Port},
		} {
			acc := b.custom(t, c.smtpPort, c.imapPort, emailaccounts.TLSStartTLS, emailaccounts.TLSStartTLS, "right-password")
			res, err := b.svc.Test(ctx, b.admin, acc.ID)
			require.NoError(t, err)
			require.False(t, res.OK)
			require.True(t, strings.HasPrefix(*res.Account.LastError, c.step), *res.Account.LastError)
			require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT error_source FROM email_accounts WHERE id = $1`, acc.ID).Scan(&source))
			require.NotNil(t, source, c.side)
			require.Equal(t, c.side, *source)
		}
	})

	t.Run("UntrustedCertificateIsNamed", func(t *testing.T) {
		kr, err := secrets.NewKeyring(map[string][]byte{"test": []byte("0123456789abcdef0123456789abcdef")}, "test")
		require.NoError(t, err)
		svc := emailaccounts.NewService(b.db, kr, emailaccounts.Options{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, TestTimeout: 5 * time.Second})
		acc, err := svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderCustom, EmailAddress: "cert@example.com",
			Server: emailaccounts.Server{SMTPHost: ptr("127.0.0.1"), SMTPPort: ptr(smtpSrv.addr.Port), IMAPHost: ptr("127.0.0.1"),
				IMAPPort: ptr(imapTLS.Port), Username: ptr("alice"), Password: ptr("right-password")}})
		require.NoError(t, err)
		res, err := svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.False(t, res.OK)
		require.Equal(t, "smtp_starttls", res.Steps[2].Name)
		require.Contains(t, res.Steps[2].Detail, "not signed by a trusted authority")
	})

	t.Run("LoopbackIsRefusedUnlessAllowed", func(t *testing.T) {
		kr, err := secrets.NewKeyring(map[string][]byte{"test": []byte("0123456789abcdef0123456789abcdef")}, "test")
		require.NoError(t, err)
		svc := b.service(t, kr, nil)
		acc, err := svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderCustom, EmailAddress: "ssrf@example.com",
			Server: emailaccounts.Server{SMTPHost: ptr("127.0.0.1"), SMTPPort: ptr(smtpSrv.addr.Port), IMAPHost: ptr("127.0.0.1"),
				IMAPPort: ptr(imapTLS.Port), Username: ptr("alice"), Password: ptr("right-password")}})
		require.NoError(t, err)
		res, err := svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.False(t, res.OK)
		require.Equal(t, "smtp_connect", res.Steps[0].Name)
		require.Contains(t, res.Steps[0].Detail, "private or reserved")
		require.Equal(t, "imap_connect", res.Steps[1].Name)
		require.False(t, res.Steps[1].OK)
	})

	t.Run("NothingListeningIsSaidPlainly", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		acc, err := b.svc.Create(ctx, b.admin, emailaccounts.New{Provider: emailaccounts.ProviderCustom, EmailAddress: "closed@example.com",
			Server: emailaccounts.Server{SMTPHost: ptr("127.0.0.1"), SMTPPort: &port, IMAPHost: ptr("127.0.0.1"),
				IMAPPort: &port, Username: ptr("alice"), Password: ptr("pw")}})
		require.NoError(t, err)
		res, err := b.svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.Contains(t, res.Steps[0].Detail, "refused")
	})

	t.Run("SandboxIsAlwaysConnected", func(t *testing.T) {
		acc := b.sandbox(t, "conn@sandbox.test")
		res, err := b.svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.True(t, res.OK)
		require.Len(t, res.Steps, 1)
	})

	t.Run("TransportCarriesTheLogin", func(t *testing.T) {
		acc := b.custom(t, smtpSrv.addr.Port+10000, imapTLS.Port, emailaccounts.TLSImplicit, emailaccounts.TLSImplicit, "right-password")
		tr, err := b.svc.Transport(ctx, b.org, acc.ID)
		require.NoError(t, err)
		require.Equal(t, emailaccounts.KindSMTP, tr.Kind)
		require.Equal(t, "127.0.0.1", tr.Host)
		require.Equal(t, "alice", tr.Username)
		require.Equal(t, "right-password", tr.Password())
		require.Nil(t, tr.OAuthToken)
		require.Equal(t, 10, tr.DailyCap)
		require.Equal(t, "Sales", tr.DisplayName)
		require.NotNil(t, tr.Dial)
		sb := b.sandbox(t, "tr@sandbox.test")
		tr, err = b.svc.Transport(ctx, b.org, sb.ID)
		require.NoError(t, err)
		require.Equal(t, emailaccounts.KindSandbox, tr.Kind)
		require.Zero(t, tr.MinGap)
	})
}

// fakeOAuth speaks the OAuth 2.0 wire format of Google and Microsoft:
// form-encoded POSTs to /{p}/token (authorization_code with PKCE, and
// refresh_token, rotating it), JSON answers, and a userinfo endpoint that
// wants the bearer token.
type fakeOAuth struct {
	srv       *httptest.Server
	mu        sync.Mutex
	challenge map[string]string // code -> S256 challenge
	access    map[string]string // access token -> email
	refresh   map[string]string // refresh token -> email
	refreshes atomic.Int32
	expiresIn int
	n         int
}

func newFakeOAuth(t *testing.T) *fakeOAuth {
	f := &fakeOAuth{challenge: map[string]string{}, access: map[string]string{}, refresh: map[string]string{}, expiresIn: 3600}
	mux := http.NewServeMux()
	for _, p := range []string{"google", "microsoft"} {
		mux.HandleFunc("POST /"+p+"/token", func(w http.ResponseWriter, r *http.Request) { f.token(w, r, p) })
	}
	mux.HandleFunc("GET /google/userinfo", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		email, ok := f.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": "1", "email": email, "email_verified": true})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOAuth) provider(p string) emailaccounts.OAuthProvider {
	return emailaccounts.OAuthProvider{ClientID: p + "-client", ClientSecret: p + "-secret",
		AuthURL: f.srv.URL + "/" + p + "/authorize", TokenURL: f.srv.URL + "/" + p + "/token", UserInfoURL: f.srv.URL + "/" + p + "/userinfo",
		RedirectURL: "http://localhost/v1/email-accounts/oauth/x/callback", Scopes: []string{"openid", "email"}}
}

// issue registers an authorization code for email, as the provider does
// when the user consents to the authorize URL with that challenge.
func (f *fakeOAuth) issue(email, challenge string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	code := "code-" + strconv.Itoa(f.n)
	f.challenge[code] = challenge + " " + email
	return code
}

func (f *fakeOAuth) token(w http.ResponseWriter, r *http.Request, p string) {
	fail := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		fail("invalid_request", "form body expected")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail("invalid_request", "bad form")
		return
	}
	if r.PostForm.Get("client_id") != p+"-client" || r.PostForm.Get("client_secret") != p+"-secret" {
		fail("invalid_client", "unknown client")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var email string
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		v, ok := f.challenge[r.PostForm.Get("code")]
		if !ok {
			fail("invalid_grant", "the code is unknown or used")
			return
		}
		delete(f.challenge, r.PostForm.Get("code"))
		challenge, e, _ := strings.Cut(v, " ")
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			fail("invalid_grant", "PKCE verification failed")
			return
		}
		email = e
	case "refresh_token":
		e, ok := f.refresh[r.PostForm.Get("refresh_token")]
		if !ok {
			fail("invalid_grant", "Token has been expired or revoked.")
			return
		}
		delete(f.refresh, r.PostForm.Get("refresh_token")) // rotated, as Microsoft does
		f.refreshes.Add(1)
		email = e
	default:
		fail("unsupported_grant_type", "")
		return
	}
	f.n++
	at, rt := "at-"+strconv.Itoa(f.n), "rt-"+strconv.Itoa(f.n)
	f.access[at], f.refresh[rt] = email, email
	body := map[string]any{"access_token": at, "refresh_token": rt, "expires_in": f.expiresIn, "token_type": "Bearer", "scope": "openid email"}
	if p == "microsoft" {
		claims, _ := json.Marshal(map[string]string{"preferred_username": email, "tid": "t"})
		body["id_token"] = "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// consent follows the authorize URL as the user's browser and the
// provider would: it returns the code and state of the redirect.
func (b *bundle) consent(t *testing.T, provider, email string) (code, state string) {
	t.Helper()
	a, err := b.svc.Authorize(context.Background(), b.admin, provider)
	require.NoError(t, err)
	u, err := url.Parse(a.URL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Equal(t, "code", q.Get("response_type"))
	require.Equal(t, a.State, q.Get("state"))
	return b.oauth.issue(email, q.Get("code_challenge")), a.State
}

func TestOAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	t.Run("GmailFullFlow", func(t *testing.T) {
		code, state := b.consent(t, emailaccounts.ProviderGmail, "Owner@Gmail.com")
		acc, err := b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{Code: code, State: state})
		require.NoError(t, err)
		require.Equal(t, "owner@gmail.com", acc.EmailAddress)
		require.Equal(t, emailaccounts.ProviderGmail, acc.Provider)
		require.True(t, acc.OAuthConnected)
		require.False(t, acc.CredentialsSet)
		require.NotNil(t, acc.TokenExpiresAt)
		require.Equal(t, emailaccounts.GmailMaxDailyLimit, acc.MaxDailySendLimit)
		var at, rt string
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT oauth_access_token_encrypted, oauth_refresh_token_encrypted FROM email_accounts WHERE id = $1`, acc.ID).Scan(&at, &rt))
		require.NotContains(t, at, "at-")
		require.NotContains(t, rt, "rt-")
		res, err := json.Marshal(acc.Resource())
		require.NoError(t, err)
		require.NotContains(t, string(res), "at-")

		t.Run("AccessTokenIsReusedWhileValid", func(t *testing.T) {
			tok, err := b.svc.AccessToken(ctx, b.org, acc.ID)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(tok, "at-"))
			again, err := b.svc.AccessToken(ctx, b.org, acc.ID)
			require.NoError(t, err)
			require.Equal(t, tok, again)
			require.Zero(t, b.oauth.refreshes.Load())
		})

		t.Run("RefreshesBeforeExpiryAndStoresTheRotatedToken", func(t *testing.T) {
			before, err := b.svc.AccessToken(ctx, b.org, acc.ID)
			require.NoError(t, err)
			var rtBefore string
			require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT oauth_refresh_token_encrypted FROM email_accounts WHERE id = $1`, acc.ID).Scan(&rtBefore))
			b.clock.Add(56 * time.Minute) // within 5 minutes of the hour
			tok, err := b.svc.AccessToken(ctx, b.org, acc.ID)
			require.NoError(t, err)
			require.NotEqual(t, before, tok)
			require.EqualValues(t, 1, b.oauth.refreshes.Load())
			var rtAfter string
			require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT oauth_refresh_token_encrypted FROM email_accounts WHERE id = $1`, acc.ID).Scan(&rtAfter))
			require.NotEqual(t, rtBefore, rtAfter, "the rotated refresh token was stored")
			again, err := b.svc.AccessToken(ctx, b.org, acc.ID)
			require.NoError(t, err)
			require.Equal(t, tok, again, "the new token is used until it nears expiry")

			// The token works for XOAUTH2 on a real SMTP server.
			srv := startSMTP(t, testCertificate.cert, "owner@gmail.com", "", tok)
			tr, err := b.svc.Transport(ctx, b.org, acc.ID)
			require.NoError(t, err)
			require.NotNil(t, tr.OAuthToken)
			got, err := tr.OAuthToken(ctx)
			require.NoError(t, err)
			c, err := smtp.DialStartTLS(srv.addr.String(), &tls.Config{RootCAs: testPool})
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.Auth(emailaccounts.NewXOAuth2Client(tr.Username, got)))
			require.Equal(t, []string{"XOAUTH2:owner@gmail.com"}, srv.Logins())
			c2, err := smtp.DialStartTLS(srv.addr.String(), &tls.Config{RootCAs: testPool})
			require.NoError(t, err)
			defer c2.Close()
			err = c2.Auth(emailaccounts.NewXOAuth2Client(tr.Username, "stale-token"))
			require.ErrorContains(t, err, "535")
		})

		t.Run("ARevokedRefreshTokenMarksTheAccount", func(t *testing.T) {
			b.oauth.mu.Lock()
			clear(b.oauth.refresh)
			b.oauth.mu.Unlock()
			b.clock.Add(2 * time.Hour)
			_, err := b.svc.AccessToken(ctx, b.org, acc.ID)
			requireInvalid(t, err, "/code", "oauth_invalid_grant")
			got, err := b.svc.Get(ctx, b.admin, acc.ID)
			require.NoError(t, err)
			require.Equal(t, emailaccounts.StatusError, got.ConnectionStatus)
			require.Contains(t, *got.LastError, "connect the mailbox again")
			updated := func() int {
				var n int
				require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE object_id = $1 AND type = 'email_account.updated'
					AND data->>'connection_status' = 'error'`, acc.ID).Scan(&n))
				return n
			}
			require.Equal(t, 1, updated(), "the connection went into error: email_account.updated")
			_, err = b.svc.AccessToken(ctx, b.org, acc.ID)
			requireInvalid(t, err, "/code", "oauth_invalid_grant")
			require.Equal(t, 1, updated(), "refused again the same way: nothing the account shows changed")
		})

		t.Run("ConnectingAgainReplacesTheTokens", func(t *testing.T) {
			code, state := b.consent(t, emailaccounts.ProviderGmail, "owner@gmail.com")
			again, err := b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{Code: code, State: state})
			require.NoError(t, err)
			require.Equal(t, acc.ID, again.ID)
			require.Equal(t, emailaccounts.StatusPending, again.ConnectionStatus)
			_, err = b.svc.AccessToken(ctx, b.org, acc.ID)
			require.NoError(t, err)
		})
	})

	t.Run("ConnectionTestLogsInWithXOAUTH2", func(t *testing.T) {
		code, state := b.consent(t, emailaccounts.ProviderGmail, "xo@gmail.com")
		acc, err := b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{Code: code, State: state})
		require.NoError(t, err)
		require.Equal(t, "smtp.gmail.com", *acc.SMTPHost)
		tok, err := b.svc.AccessToken(ctx, b.org, acc.ID)
		require.NoError(t, err)
		smtpSrv := startSMTP(t, testCertificate.cert, "xo@gmail.com", "", tok)
		imapAddr := startIMAPWith(t, testCertificate.cert, "xo@gmail.com", "unused-password", tok, true)
		// Gmail's servers are out of reach: point the account at ours.
		b.exec(t, `UPDATE email_accounts SET smtp_host = '127.0.0.1', smtp_port = $2, imap_host = '127.0.0.1', imap_port = $3 WHERE id = $1`,
			acc.ID, smtpSrv.addr.Port, imapAddr.Port)
		res, err := b.svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.True(t, res.OK, "%+v", res.Steps)
		require.Contains(t, res.Steps[3].Detail, "XOAUTH2")
		require.Equal(t, "imap_login", res.Steps[6].Name)
		require.Contains(t, res.Steps[6].Detail, "XOAUTH2")
		require.Equal(t, []string{"XOAUTH2:xo@gmail.com"}, smtpSrv.Logins())

		// A token the servers do not accept is reported at the login steps.
		b.exec(t, `UPDATE email_accounts SET oauth_token_expires_at = now() - interval '1 hour' WHERE id = $1`, acc.ID)
		b.clock.Set(time.Now()) // the refresh gives a new token, which the servers do not know
		res, err = b.svc.Test(ctx, b.admin, acc.ID)
		require.NoError(t, err)
		require.False(t, res.OK)
		require.Equal(t, "smtp_auth", res.Steps[3].Name)
		require.Contains(t, res.Steps[3].Detail, "refused the login of xo@gmail.com (XOAUTH2)")
		require.Contains(t, res.Steps[len(res.Steps)-1].Detail, "refused the login of xo@gmail.com (XOAUTH2)")
		require.Equal(t, emailaccounts.StatusError, res.Account.ConnectionStatus)
	})

	t.Run("OutlookReadsTheAddressFromTheIDToken", func(t *testing.T) {
		code, state := b.consent(t, emailaccounts.ProviderOutlook, "sales@contoso.com")
		acc, err := b.svc.CompleteOAuth(ctx, emailaccounts.ProviderOutlook, emailaccounts.Callback{Code: code, State: state})
		require.NoError(t, err)
		require.Equal(t, "sales@contoso.com", acc.EmailAddress)
		require.Equal(t, "smtp.office365.com", *acc.SMTPHost)
		require.Equal(t, emailaccounts.OutlookMaxDailyLimit, acc.MaxDailySendLimit)
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM events WHERE object_id = $1 AND type = 'email_account.created'`, acc.ID))
	})

	t.Run("BadStatesAreRefused", func(t *testing.T) {
		code, state := b.consent(t, emailaccounts.ProviderGmail, "x@gmail.com")
		_, err := b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{Code: code, State: state[:len(state)-4] + "AAAA"})
		requireKind(t, err, fault.KindBadRequest, "invalid_state")
		_, err = b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{Code: code, State: "not-a-state"})
		requireKind(t, err, fault.KindBadRequest, "invalid_state")
		_, err = b.svc.CompleteOAuth(ctx, emailaccounts.ProviderOutlook, emailaccounts.Callback{Code: code, State: state})
		requireKind(t, err, fault.KindBadRequest, "invalid_state")
		b.clock.Add(emailaccounts.StateTTL + time.Second)
		_, err = b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{Code: code, State: state})
		requireKind(t, err, fault.KindBadRequest, "expired_state")
		require.Zero(t, b.count(t, `SELECT count(*) FROM email_accounts WHERE email_address = 'x@gmail.com'`))
	})

	t.Run("ProviderErrorsAndBadCodes", func(t *testing.T) {
		_, state := b.consent(t, emailaccounts.ProviderGmail, "y@gmail.com")
		_, err := b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{State: state, Error: "access_denied", ErrorDescription: "The user said no"})
		requireInvalid(t, err, "/error", "authorization_refused")
		_, err = b.svc.CompleteOAuth(ctx, emailaccounts.ProviderGmail, emailaccounts.Callback{State: state, Code: "forged"})
		requireInvalid(t, err, "/code", "oauth_invalid_grant")
	})

	t.Run("OnlySignedInAdminsAuthorize", func(t *testing.T) {
		_, err := b.svc.Authorize(ctx, b.key, emailaccounts.ProviderGmail)
		requireKind(t, err, fault.KindForbidden, "")
		_, err = b.svc.Authorize(ctx, b.member, emailaccounts.ProviderGmail)
		requireKind(t, err, fault.KindForbidden, "")
	})

	t.Run("NotConfiguredIsSaid", func(t *testing.T) {
		kr, err := secrets.NewKeyring(map[string][]byte{"test": []byte("0123456789abcdef0123456789abcdef")}, "test")
		require.NoError(t, err)
		svc := emailaccounts.NewService(b.db, kr, emailaccounts.Options{})
		_, err = svc.Authorize(ctx, b.admin, emailaccounts.ProviderOutlook)
		requireKind(t, err, fault.KindConflict, "oauth_not_configured")
		f, _ := fault.As(err)
		require.Contains(t, f.Detail, "MICROSOFT_OAUTH_CLIENT_ID")
	})
}

func TestSandbox(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sb := b.sandbox(t, "inbox@sandbox.test")
	raw := "From: Sandy <inbox@sandbox.test>\r\nTo: Lead <lead@example.com>\r\nSubject: =?UTF-8?Q?Caf=C3=A9_plans?=\r\n" +
		"Message-ID: <first@leadpilot.test>\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHi Lead, shall we talk?\r\n"

	t.Run("DeliverCapturesTheMessageInTheCallersTransaction", func(t *testing.T) {
		require.NoError(t, b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) error {
			return b.svc.SandboxDeliver(ctx, tx, b.org, sb.ID, []byte(raw))
		}))
		msgs, _, err := b.svc.SandboxMessages(ctx, b.member, sb.ID, pagination.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		m := msgs[0]
		require.Equal(t, emailaccounts.Outbound, m.Direction)
		require.Equal(t, "inbox@sandbox.test", m.From)
		require.Equal(t, []string{"lead@example.com"}, m.To)
		require.Equal(t, "Café plans", m.Subject)
		require.Equal(t, "first@leadpilot.test", *m.MessageID)
		require.Contains(t, m.Text, "shall we talk?")
	})

	t.Run("ARolledBackSendLeavesNothing", func(t *testing.T) {
		err := b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) error {
			require.NoError(t, b.svc.SandboxDeliver(ctx, tx, b.org, sb.ID, []byte(strings.Replace(raw, "first@", "rolled@", 1))))
			return context.Canceled
		})
		require.ErrorIs(t, err, context.Canceled)
		require.Zero(t, b.count(t, `SELECT count(*) FROM sandbox_messages WHERE message_id = 'rolled@leadpilot.test'`))
	})

	t.Run("InjectedReplyThreadsUnderTheMessage", func(t *testing.T) {
		m, err := b.svc.InjectReply(ctx, b.admin, sb.ID, emailaccounts.Reply{From: "Lead@Example.com", FromName: "Lee Lead",
			Text: "Yes, Tuesday works.", InReplyTo: "<first@leadpilot.test>"})
		require.NoError(t, err)
		require.Equal(t, emailaccounts.Inbound, m.Direction)
		require.Equal(t, "lead@example.com", m.From)
		require.Equal(t, []string{"inbox@sandbox.test"}, m.To)
		require.Equal(t, "Re: Café plans", m.Subject)
		require.Equal(t, "first@leadpilot.test", *m.InReplyTo)
		require.NotNil(t, m.MessageID)
		require.Contains(t, m.Text, "Tuesday works")
		var stored []byte
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT raw FROM sandbox_messages WHERE id = $1`, m.ID).Scan(&stored))
		require.Contains(t, string(stored), "In-Reply-To: <first@leadpilot.test>")
		require.Contains(t, string(stored), "References: <first@leadpilot.test>")
		msgs, _, err := b.svc.SandboxMessages(ctx, b.admin, sb.ID, pagination.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, msgs, 2)
		require.Equal(t, m.ID, msgs[0].ID, "newest first")
	})

	t.Run("ReplyValidation", func(t *testing.T) {
		_, err := b.svc.InjectReply(ctx, b.admin, sb.ID, emailaccounts.Reply{From: "nobody", Text: " "})
		requireInvalid(t, err, "/from", "invalid_email")
		requireInvalid(t, err, "/text", "required")
		_, err = b.svc.InjectReply(ctx, b.member, sb.ID, emailaccounts.Reply{From: "a@example.com", Text: "x"})
		requireKind(t, err, fault.KindForbidden, "")
	})

	t.Run("OnlySandboxAccounts", func(t *testing.T) {
		c := b.custom(t, 2600, 2601, emailaccounts.TLSStartTLS, emailaccounts.TLSImplicit, "pw")
		_, _, err := b.svc.SandboxMessages(ctx, b.admin, c.ID, pagination.Page{Limit: 10})
		requireKind(t, err, fault.KindConflict, "not_sandbox")
		_, err = b.svc.InjectReply(ctx, b.admin, c.ID, emailaccounts.Reply{From: "a@example.com", Text: "x"})
		requireKind(t, err, fault.KindConflict, "not_sandbox")
		err = b.db.InTenant(ctx, database.Tenant{OrgID: b.org}, func(ctx context.Context, tx bun.IDB) error {
			return b.svc.SandboxDeliver(ctx, tx, b.org, c.ID, []byte(raw))
		})
		requireKind(t, err, fault.KindConflict, "not_sandbox")
	})
}
