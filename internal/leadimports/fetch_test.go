package leadimports_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// fileServer is an https server on 127.0.0.1 that counts its requests.
type fileServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newFileServer(t *testing.T, h http.HandlerFunc) *fileServer {
	t.Helper()
	fs := &fileServer{}
	fs.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.requests.Add(1)
		h(w, r)
	}))
	t.Cleanup(fs.Close)
	return fs
}

// allowed is the production fetch client with 127.0.0.1 allowed and the
// test server's certificate trusted: the path under test is the real one
// plus an allow-list.
func (fs *fileServer) allowed(svc *leadimports.Service) *leadimports.Service {
	c := leadimports.NewFetchClient(netip.MustParsePrefix("127.0.0.1/32"))
	pool := x509.NewCertPool()
	pool.AddCert(fs.Certificate())
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = pool
	return svc.WithHTTPClient(c)
}

// importURL creates a URL import of path on fs and runs it with svc.
func importURL(t *testing.T, b bundle, svc *leadimports.Service, u string) (leadimports.Import, error) {
	t.Helper()
	ctx := context.Background()
	imp, err := b.svc.CreateFromURL(ctx, b.actor, b.campaign(t), nil, u)
	require.NoError(t, err)
	require.Equal(t, leadimports.StatusQueued, imp.Status)
	runErr := svc.Run(ctx, b.actor.OrgID, imp.ID)
	got, err := b.svc.Get(ctx, b.actor, imp.ID)
	require.NoError(t, err)
	return got, runErr
}

func serveCSV(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}

func TestRunFromURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("TheDefaultClientRefusesALoopbackAddressWhenDialling", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fs := newFileServer(t, serveCSV(fixture(t)))
		got, err := importURL(t, b, b.svc, fs.URL+"/leads.csv")
		require.NoError(t, err, "a refused address is not retried")
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.Equal(t, "the URL's host resolves to a private or loopback address; only public https URLs can be imported", got.Error)
		require.Zero(t, fs.requests.Load(), "no request reached the server")
		require.Zero(t, got.Counts.RowsSeen)
	})

	t.Run("TheAllowListedClientDownloadsTheFileOverTLSAndImportsIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body := fixture(t)
		fs := newFileServer(t, serveCSV(body))
		got, err := importURL(t, b, fs.allowed(b.svc), fs.URL+"/exports/leads.csv?token=x")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status, got.Error)
		require.Equal(t, leadimports.Counts{RowsSeen: 7, Inserted: 4, DuplicatesInFile: 1, Invalid: 2}, got.Counts)
		require.Equal(t, fs.URL+"/exports/leads.csv?token=x", got.SourceURL)
		require.Equal(t, "leads.csv", got.FileName)
		require.EqualValues(t, len(body), got.FileBytes)
		require.EqualValues(t, 1, fs.requests.Load())
	})

	t.Run("AFileOfSeveralChunksIsStoredWholeAndImported", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var sb strings.Builder
		sb.WriteString("Email,Company,Notes\n")
		for i := 0; sb.Len() < leadimports.ChunkBytes*2+1000; i++ {
			fmt.Fprintf(&sb, "lead%d@example.com,Acme %d,%s\n", i, i, strings.Repeat("n", 200))
		}
		rows := strings.Count(sb.String(), "\n") - 1
		fs := newFileServer(t, serveCSV(sb.String()))
		got, err := importURL(t, b, fs.allowed(b.svc), fs.URL+"/big.csv")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status, got.Error)
		require.EqualValues(t, sb.Len(), got.FileBytes)
		require.Equal(t, leadimports.Counts{RowsSeen: rows, Inserted: rows}, got.Counts)
	})

	t.Run("ARedirectToARefusedAddressFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var fs *fileServer
		fs = newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hop" {
				// 127.0.0.2 is loopback too, and not on the test's allow-list.
				http.Redirect(w, r, strings.Replace(fs.URL, "127.0.0.1", "127.0.0.2", 1)+"/leads.csv", http.StatusFound)
				return
			}
			serveCSV(fixture(t))(w, r)
		})
		got, err := importURL(t, b, fs.allowed(b.svc), fs.URL+"/hop")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.Equal(t, "the URL's host resolves to a private or loopback address; only public https URLs can be imported", got.Error)
		require.EqualValues(t, 1, fs.requests.Load())
	})

	t.Run("ARedirectToHTTPFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var fs *fileServer
		fs = newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://"+r.Host+"/leads.csv", http.StatusMovedPermanently)
		})
		got, err := importURL(t, b, fs.allowed(b.svc), fs.URL+"/hop")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.Contains(t, got.Error, "redirected to a http:// address")
		require.Contains(t, got.Error, "only https URLs can be imported")
	})

	t.Run("FiveRedirectsAreFollowedAndASixthFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fs := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
			var n int
			if _, err := fmt.Sscanf(r.URL.Path, "/hop/%d", &n); err == nil && n > 0 {
				http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
				return
			}
			serveCSV("Email\nfive@example.com\n")(w, r)
		})
		svc := fs.allowed(b.svc)
		got, err := importURL(t, b, svc, fs.URL+"/hop/5")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status, got.Error)
		require.Equal(t, 1, got.Counts.Inserted)

		got, err = importURL(t, b, svc, fs.URL+"/hop/6")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.Equal(t, "the URL redirected more than 5 times", got.Error)
	})

	t.Run("A404FailsWithTheStatus", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fs := newFileServer(t, http.NotFound)
		got, err := importURL(t, b, fs.allowed(b.svc), fs.URL+"/gone.csv")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.Equal(t, "the server answered 404 Not Found", got.Error)
	})

	t.Run("AFileLargerThanTheLimitFailsWithOrWithoutAContentLength", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		body := fixture(t)
		fs := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/chunked.csv" {
				// No Content-Length: the limit is found while storing.
				w.Header().Set("Content-Type", "text/csv")
				_, _ = w.Write([]byte(body[:100]))
				w.(http.Flusher).Flush()
				_, _ = w.Write([]byte(body[100:]))
				return
			}
			serveCSV(body)(w, r)
		})
		svc := fs.allowed(b.svc).WithMaxFileBytes(200)
		for _, p := range []string{"/sized.csv", "/chunked.csv"} {
			got, err := importURL(t, b, svc, fs.URL+p)
			require.NoError(t, err)
			require.Equal(t, leadimports.StatusFailed, got.Status, p)
			require.Equal(t, "the file is larger than 200 bytes", got.Error, p)
			require.Zero(t, got.FileBytes, "nothing is kept of %s", p)
		}
	})

	t.Run("AResponseThatIsNotCSVFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		png, err := os.ReadFile("../leadimport/testdata/not_csv.png")
		require.NoError(t, err)
		fs := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
		})
		got, err := importURL(t, b, fs.allowed(b.svc), fs.URL+"/sheet")
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.True(t, strings.HasPrefix(got.Error, "the response is not CSV: "), got.Error)
		require.NotContains(t, got.Error, "leadimport:")
	})

	t.Run("A503IsRetriedAndFailsTheImportAfterTheLastAttempt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fs := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		})
		svc := fs.allowed(b.svc)
		imp, err := b.svc.CreateFromURL(ctx, b.actor, nil, nil, fs.URL+"/leads.csv")
		require.NoError(t, err)
		for attempt := 1; attempt < leadimports.DefaultMaxFetchAttempts; attempt++ {
			require.Error(t, svc.Run(ctx, b.actor.OrgID, imp.ID), "attempt %d asks for a retry", attempt)
			got, err := b.svc.Get(ctx, b.actor, imp.ID)
			require.NoError(t, err)
			require.Equal(t, leadimports.StatusRunning, got.Status)
		}
		require.NoError(t, svc.Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusFailed, got.Status)
		require.Equal(t, "the server answered 503 Service Unavailable (after 5 attempts)", got.Error)
		require.EqualValues(t, leadimports.DefaultMaxFetchAttempts, fs.requests.Load())
	})

	t.Run("ADownloadPastTheTimeoutIsRetried", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		release := make(chan struct{})
		fs := newFileServer(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		defer close(release)
		got, err := importURL(t, b, fs.allowed(b.svc).WithFetchTimeout(200*time.Millisecond), fs.URL+"/slow.csv")
		require.ErrorContains(t, err, "the download took longer than 200ms")
		require.Equal(t, leadimports.StatusRunning, got.Status)
	})

	t.Run("ARedeliveryAfterTheDownloadDoesNotDownloadAgain", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fs := newFileServer(t, serveCSV(fixture(t)))
		imp, err := b.svc.CreateFromURL(ctx, b.actor, b.campaign(t), nil, fs.URL+"/leads.csv")
		require.NoError(t, err)
		// The first delivery downloads, commits one batch and dies.
		stop := context.Canceled
		first := fs.allowed(b.svc).WithBatchSize(2).WithAfterBatch(func(n int) { panic(stop) })
		require.PanicsWithValue(t, stop, func() { _ = first.Run(ctx, b.actor.OrgID, imp.ID) })
		require.EqualValues(t, 1, fs.requests.Load())

		again := fs.allowed(b.svc).WithBatchSize(2)
		require.NoError(t, again.Run(ctx, b.actor.OrgID, imp.ID))
		require.NoError(t, again.Run(ctx, b.actor.OrgID, imp.ID))
		got, err := b.svc.Get(ctx, b.actor, imp.ID)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusCompleted, got.Status, got.Error)
		require.Equal(t, leadimports.Counts{RowsSeen: 7, Inserted: 4, DuplicatesInFile: 1, Invalid: 2}, got.Counts)
		require.EqualValues(t, 1, fs.requests.Load(), "the file was downloaded once")
	})
}

func TestCreateFromURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("AnInvalidURLIsRefusedWith422AndNothingIsStored", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for _, tc := range []struct{ url, code string }{
			{"http://example.com/leads.csv", "not_https"},
			{"ftp://example.com/leads.csv", "not_https"},
			{"/leads.csv", "not_https"},
			{"https:///leads.csv", "no_host"},
			{"https://user:secret@example.com/leads.csv", "userinfo"},
			{"https://example.com/" + strings.Repeat("a", 2048), "too_long"},
			{"https://exa mple.com/", "invalid_url"},
		} {
			_, err := b.svc.CreateFromURL(ctx, b.actor, nil, nil, tc.url)
			fe, ok := fault.As(err)
			require.True(t, ok, "%s: %v", tc.url, err)
			require.Equal(t, fault.KindInvalid, fe.Kind, tc.url)
			require.Len(t, fe.Fields, 1, tc.url)
			require.Equal(t, "/url", fe.Fields[0].Field, tc.url)
			require.Equal(t, tc.code, fe.Fields[0].Code, tc.url)
		}
		list, _, err := b.svc.List(ctx, b.actor, pagination.Page{Limit: 10})
		require.NoError(t, err)
		require.Empty(t, list)
	})

	t.Run("AGoogleSheetsLinkIsStoredAsItsCSVExportNamedAfterTheSheet", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		imp, err := b.svc.CreateFromURL(ctx, b.actor, nil, map[string]string{"Mail": "email"},
			"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=42")
		require.NoError(t, err)
		require.Equal(t, "https://docs.google.com/spreadsheets/d/1AbC-d_9/export?format=csv&gid=42", imp.SourceURL)
		require.Equal(t, "1AbC-d_9", imp.FileName)
		require.Equal(t, map[string]string{"Mail": "email"}, imp.Mapping)
		require.Equal(t, leadimports.StatusQueued, imp.Status)
	})

	t.Run("ACampaignOfAnotherOrganisationIsNotFound", func(t *testing.T) {
		t.Parallel()
		b, other := setup(t), setup(t)
		_, err := b.svc.CreateFromURL(ctx, b.actor, other.campaign(t), nil, "https://example.com/leads.csv")
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
	})

	t.Run("AnInvalidMappingIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.svc.CreateFromURL(ctx, b.actor, nil, map[string]string{"Mail": "mailbox"}, "https://example.com/leads.csv")
		require.True(t, fault.IsKind(err, fault.KindInvalid), "%v", err)
	})
}

func TestSheetsExportURL(t *testing.T) {
	t.Parallel()
	const export = "https://docs.google.com/spreadsheets/d/1AbC-d_9/export?format=csv"
	for _, tc := range []struct {
		in, want string // want "" when the URL is not rewritten
	}{
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=0", export + "&gid=0"},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=1234567", export + "&gid=1234567"},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit?gid=7", export + "&gid=7"},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit?usp=sharing", export},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit?usp=sharing#gid=12", export + "&gid=12"},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit", export},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/", export},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9", export},
		{"https://DOCS.google.com/spreadsheets/d/1AbC-d_9", export},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=x1", export},
		{"https://docs.google.com/spreadsheets/d/1AbC-d_9/export?format=csv&gid=3", ""},
		{"https://docs.google.com/spreadsheets/d/e/2PACX-1v/pub?output=csv", ""},
		{"https://docs.google.com/document/d/1AbC-d_9/edit", ""},
		{"https://docs.google.com.evil.example/spreadsheets/d/1AbC-d_9/edit", ""},
		{"https://example.com/spreadsheets/d/1AbC-d_9/edit", ""},
	} {
		u, err := url.Parse(tc.in)
		require.NoError(t, err)
		got, id, ok := leadimports.SheetsExportURL(u)
		if tc.want == "" {
			require.False(t, ok, tc.in)
			continue
		}
		require.True(t, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		require.Equal(t, "1AbC-d_9", id, tc.in)
	}
}
