package leadimports

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"code.dny.dev/ssrf"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/egress"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/leadimport"
)

// MaxURLLength is the longest URL an import accepts.
const MaxURLLength = 2048

// MaxRedirects is how many redirects a download follows.
const MaxRedirects = 5

// DefaultFetchTimeout bounds one download: request, redirects and body.
const DefaultFetchTimeout = 2 * time.Minute

// DefaultMaxFetchAttempts is how many downloads failing for a passing
// reason (timeout, connection reset, 5xx) an import gets before it fails.
// It is kept below the run task's retries (jobs.NewLeadImportTask: 5
// retries, 6 deliveries) so the import fails with its reason rather than
// being left running when asynq gives up.
const DefaultMaxFetchAttempts = 5

// msgPrivate is the failure of a download whose address is refused.
const msgPrivate = "the URL's host resolves to a private or loopback address; only public https URLs can be imported"

// CreateFromURL stores a queued import of the CSV file at rawURL into
// campaignID (nil: no campaign) and enqueues its run once the transaction
// has committed, like Create; the worker downloads the file (Run). The
// request itself touches no network. rawURL must be an absolute https URL
// with a host and no user name or password, at most MaxURLLength long; a
// Google Sheets link is rewritten to its CSV export URL (SheetsExportURL).
// Any member or API key may.
func (s *Service) CreateFromURL(ctx context.Context, a access.Actor, campaignID *uuid.UUID, mapping map[string]string, rawURL string, opts ...Option) (Import, error) {
	mapping, err := validMapping(mapping)
	if err != nil {
		return Import{}, err
	}
	u, fileName, err := importURL(rawURL)
	if err != nil {
		return Import{}, err
	}
	row := newRow(a, campaignID, mapping, fileName, opts...)
	row.SourceURL = &u
	err = s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := insertRow(ctx, tx, &row); err != nil {
			return err
		}
		return record(ctx, tx, events.ImportCreated, row)
	})
	if err != nil {
		return Import{}, err
	}
	s.enqueueAfterCommit(ctx, a.OrgID, row.ID)
	return row.view(), nil
}

// importURL checks rawURL and returns the URL to download and the file
// name to show: the sheet id for a Google Sheets link, else the last path
// segment (the host when the path has none).
func importURL(rawURL string) (string, string, error) {
	bad := func(code, msg string) error {
		return fault.Invalid(fault.FieldError{Field: "/url", Code: code, Message: msg})
	}
	if len(rawURL) > MaxURLLength {
		return "", "", bad("too_long", fmt.Sprintf("is longer than %d characters", MaxURLLength))
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return "", "", bad("invalid_url", "is not a URL")
	}
	if !u.IsAbs() || u.Scheme != "https" {
		return "", "", bad("not_https", "must be an absolute https URL")
	}
	if u.Hostname() == "" {
		return "", "", bad("no_host", "has no host")
	}
	if u.User != nil {
		return "", "", bad("userinfo", "must not hold a user name or password")
	}
	if export, id, ok := SheetsExportURL(u); ok {
		if len(export) > MaxURLLength {
			return "", "", bad("too_long", fmt.Sprintf("is longer than %d characters as a CSV export URL", MaxURLLength))
		}
		return export, id, nil
	}
	u.Fragment, u.RawFragment = "", ""
	name := path.Base(u.Path)
	if name == "/" || name == "." {
		name = u.Hostname()
	}
	return u.String(), name, nil
}

var sheetID = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// SheetsExportURL rewrites a Google Sheets link to the sheet
// (https://docs.google.com/spreadsheets/d/<id>, optionally followed by
// /edit, with the tab as ?gid=N or #gid=N) to the URL that exports it as
// CSV (…/d/<id>/export?format=csv&gid=N), and returns the sheet id. Any
// other URL, including an export or published (/d/e/…) link, is not
// rewritten (ok false). The sheet must be shared with anyone who has the
// link: the download carries no Google credentials.
func SheetsExportURL(u *url.URL) (export, id string, ok bool) {
	if !strings.EqualFold(u.Hostname(), "docs.google.com") || u.Port() != "" {
		return "", "", false
	}
	rest, found := strings.CutPrefix(u.Path, "/spreadsheets/d/")
	if !found {
		return "", "", false
	}
	id, tail, _ := strings.Cut(rest, "/")
	if id == "e" || !sheetID.MatchString(id) {
		return "", "", false
	}
	if tail = strings.TrimSuffix(tail, "/"); tail != "" && tail != "edit" {
		return "", "", false
	}
	gid := u.Query().Get("gid")
	if gid == "" {
		if frag, err := url.ParseQuery(u.Fragment); err == nil {
			gid = frag.Get("gid")
		}
	}
	export = "https://docs.google.com/spreadsheets/d/" + id + "/export?format=csv"
	if gid != "" && strings.Trim(gid, "0123456789") == "" {
		export += "&gid=" + gid
	}
	return export, id, true
}

// NewFetchClient returns the HTTP client that downloads import URLs. Its
// dialer checks every connection it opens with egress.Control, after
// DNS, so redirects and a name that resolves differently on the second
// lookup (DNS rebinding) are covered: loopback, private, link-local,
// CGNAT, multicast and the other IANA special-purpose IPv4 ranges, and
// any IPv6 address outside global unicast (or special within it), are
// refused. allow lists prefixes to connect to anyway; production passes
// none, tests allow 127.0.0.1/32 for an httptest server. Any port is
// allowed (the address is what matters, and only https is spoken). No
// proxy is taken from the environment: the guard would check the proxy's
// address instead of the server's. Redirects are followed MaxRedirects
// times, to https only. The timeout is the caller's (Service.fetchTimeout).
func NewFetchClient(allow ...netip.Prefix) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: egress.Control(allow...)}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			MaxIdleConns:          10,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: checkRedirect,
	}
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return permanent(fmt.Sprintf("the URL redirected more than %d times", MaxRedirects))
	}
	if req.URL.Scheme != "https" {
		return permanent(fmt.Sprintf("the URL redirected to a %s:// address (%s); only https URLs can be imported", req.URL.Scheme, req.URL.Host))
	}
	return nil
}

// fetchError is why a download failed, in words for the import's error.
// A transient one may pass (the task is retried); any other fails the
// import.
type fetchError struct {
	msg       string
	transient bool
}

func (e *fetchError) Error() string { return e.msg }

func permanent(msg string) *fetchError { return &fetchError{msg: msg} }

func transient(msg string) *fetchError { return &fetchError{msg: msg, transient: true} }

// fetchFailure puts an error of the HTTP client into words and says
// whether it may pass.
func fetchFailure(err error, timeout time.Duration) *fetchError {
	var fe *fetchError
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedNetwork) ||
		errors.Is(err, ssrf.ErrProhibitedPort) || errors.Is(err, ssrf.ErrInvalidHostPort) {
		return permanent(msgPrivate)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return transient(fmt.Sprintf("the download took longer than %s", timeout))
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return permanent(fmt.Sprintf("the URL's host %s does not exist", dnsErr.Name))
	}
	var (
		certErr     *tls.CertificateVerificationError
		hostErr     x509.HostnameError
		authErr     x509.UnknownAuthorityError
		invalidCert x509.CertificateInvalidError
	)
	if errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &authErr) || errors.As(err, &invalidCert) {
		return permanent("the server's TLS certificate is not valid for the URL's host")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return transient("the URL could not be fetched: " + err.Error())
}

// bodyReader turns the read errors of a response body into fetchErrors,
// so that storeFile's caller can tell a dropped connection (which may
// pass) from a database error.
type bodyReader struct {
	r       io.Reader
	timeout time.Duration
}

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fetchFailure(err, b.timeout)
	}
	return n, err
}

// notCSVText puts leadimport.Open's refusal of a download into words.
func notCSVText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "leadimport: ")
	if errors.Is(err, leadimport.ErrNotCSV) {
		return "the response is not CSV: " + strings.TrimPrefix(msg, leadimport.ErrNotCSV.Error()+": ")
	}
	return "the response cannot be read as CSV: " + msg
}

// errFetchedElsewhere stops a download whose import another delivery
// fetched first (or that was cancelled meanwhile): its chunks are
// rolled back, and the run goes on (or stops) on what is stored.
var errFetchedElsewhere = errors.New("leadimports: the file was fetched by another run")

// fetch downloads the file of URL import row and stores it like an upload
// (storeFile), setting file_bytes and fetched_at in the same transaction.
// A *fetchError says why the download failed; other errors are the
// database's.
func (s *Service) fetch(ctx context.Context, t database.Tenant, row importRow) error {
	ctx, cancel := context.WithTimeout(ctx, s.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *row.SourceURL, nil)
	if err != nil {
		return permanent("the URL cannot be requested: " + err.Error())
	}
	req.Header.Set("Accept", "text/csv, text/plain;q=0.9, */*;q=0.5")
	req.Header.Set("User-Agent", "LeadPilot-LeadImport/1")
	resp, err := s.http.Do(req)
	if err != nil {
		return fetchFailure(err, s.fetchTimeout)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fe := permanent(fmt.Sprintf("the server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
		switch {
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
			fe.transient = true
		}
		return fe
	}
	if resp.ContentLength > s.maxFileBytes {
		return permanent(tooLargeText(s.maxFileBytes))
	}
	body := bodyReader{r: resp.Body, timeout: s.fetchTimeout}
	head, err := readHead(body)
	if err != nil {
		return fetchFailure(err, s.fetchTimeout)
	}
	if len(head) == 0 {
		return permanent("the file is empty")
	}
	if err := checkHead(head, row.Mapping); err != nil {
		return permanent(notCSVText(err))
	}
	err = s.db.InTenant(ctx, t, func(ctx context.Context, tx bun.IDB) error {
		total, err := storeFile(ctx, tx, t.OrgID, row.ID, io.MultiReader(bytes.NewReader(head), body), s.maxFileBytes)
		if errors.Is(err, errFileTooLarge) {
			return permanent(tooLargeText(s.maxFileBytes))
		}
		if errors.Is(err, database.ErrConflict) {
			return errFetchedElsewhere // another delivery stored chunk n first
		}
		if err != nil {
			return err
		}
		r, err := tx.NewRaw(`UPDATE lead_imports SET file_bytes = ?, fetched_at = now()
			WHERE org_id = ? AND id = ? AND status = 'running' AND fetched_at IS NULL`, total, t.OrgID, row.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("mark fetched: %w", database.Interpret(err))
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return errFetchedElsewhere
		}
		return nil
	})
	var fe *fetchError
	if err != nil && !errors.As(err, &fe) && !errors.Is(err, errFetchedElsewhere) && ctx.Err() != nil {
		// The deadline or the task's context ended the transaction
		// while the body was still arriving.
		return fetchFailure(ctx.Err(), s.fetchTimeout)
	}
	return err
}
