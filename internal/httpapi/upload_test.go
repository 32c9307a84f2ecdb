package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/httpapi"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/leadimports"
)

func withUploadLimit(n int64) option { return func(d *httpapi.Deps) { d.MaxUploadBytes = n } }

// leadRows writes a lead CSV of n rows to w, one row at a time.
func leadRows(w io.Writer, prefix string, n int) error {
	if _, err := io.WriteString(w, "Email,First Name,Last Name,Company,Job Title,City,Country\n"); err != nil {
		return err
	}
	for i := range n {
		if _, err := fmt.Fprintf(w, "%s-%d@example.com,Ada %d,Lovelace,Analytical Engines %d,Engineer,London,GB\n", prefix, i, i, i%97); err != nil {
			return err
		}
	}
	return nil
}

// streamed is a request body produced as it is read, with no length: the
// server cannot size it in advance, and it is never all in memory here.
func streamed(write func(io.Writer) error) io.Reader {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	return pr
}

// TestLeadImportUploadsStream sends files larger than every other body may
// be (MAX_BODY_BYTES is 64 KiB here) through the streamed upload path.
func TestLeadImportUploadsStream(t *testing.T) {
	t.Parallel()
	b := setup(t, withUploadLimit(16<<20))
	ctx := context.Background()
	s := b.signup(t, "Streamed Upload Co")
	tok := bearer(s.AccessToken)
	run := func(t *testing.T, id uuid.UUID) api.LeadImport {
		t.Helper()
		task, err := jobs.NewLeadImportTask(s.Organization.ID, id)
		require.NoError(t, err)
		require.NoError(t, jobs.NewLeadImportHandler(leadimports.NewService(b.db, nil)).ProcessTask(ctx, task))
		got, err := b.client.GetLeadImportWithResponse(ctx, id, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode(), string(got.Body))
		return *got.JSON200
	}

	t.Run("A100kRowFileOfUnknownLengthIsImportedWhole", func(t *testing.T) {
		const rows = 100_000
		var size bytes.Buffer // only to know the size the server must report
		require.NoError(t, leadRows(&size, "big", rows))
		require.Greater(t, size.Len(), 64<<10*100)
		r, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv",
			streamed(func(w io.Writer) error { return leadRows(w, "big", rows) }), tok, header("Idempotency-Key", "big-1"))
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.StatusCode(), string(r.Body))
		require.EqualValues(t, size.Len(), r.JSON202.FileBytes)

		again, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv",
			streamed(func(w io.Writer) error { return leadRows(w, "big", rows) }), tok, header("Idempotency-Key", "big-1"))
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, again.StatusCode(), string(again.Body))
		require.Equal(t, r.JSON202.ID, again.JSON202.ID, "the same key and bytes replay the first answer")
		other, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv",
			streamed(func(w io.Writer) error { return leadRows(w, "other", rows) }), tok, header("Idempotency-Key", "big-1"))
		require.NoError(t, err)
		require.Equal(t, "idempotency_key_reused", problem(t, other.HTTPResponse, other.Body, http.StatusConflict).Code)

		got := run(t, r.JSON202.ID)
		require.Equal(t, api.LeadImportStatusCompleted, got.Status, got.Error)
		require.Equal(t, api.LeadImportCounts{RowsSeen: rows, Inserted: rows}, got.Counts)

		// The export streams them back, page after page, newest first.
		exp, err := b.client.ExportLeads(ctx, nil, tok)
		require.NoError(t, err)
		defer exp.Body.Close()
		require.Equal(t, http.StatusOK, exp.StatusCode)
		require.Empty(t, exp.Header.Get("Content-Length"), "streamed, so not sized in advance")
		cr := csv.NewReader(exp.Body)
		header, err := cr.Read()
		require.NoError(t, err)
		require.Equal(t, "email", header[2])
		n, last := 0, ""
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			if last != "" {
				require.Less(t, rec[0], last, "newest first, no repeats")
			}
			last = rec[0]
			n++
		}
		require.Equal(t, rows, n)
	})

	t.Run("AUTF16FileDeclaredAsSuchIsAccepted", func(t *testing.T) {
		text := "Email,First Name\nzoë@example.com,Zoë\n"
		u := utf16.Encode([]rune(text))
		body := []byte{0xFF, 0xFE}
		for _, c := range u {
			body = append(body, byte(c), byte(c>>8))
		}
		r, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv; charset=UTF-16", bytes.NewReader(body), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.StatusCode(), string(r.Body))
		got := run(t, r.JSON202.ID)
		require.Equal(t, api.LeadImportCounts{RowsSeen: 1, Inserted: 1}, got.Counts)
	})

	t.Run("ARetriedFormWithANewBoundaryReplaysAndAnotherFormDoesNot", func(t *testing.T) {
		form := func(boundary, email string) (string, *bytes.Buffer) {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			require.NoError(t, w.SetBoundary(boundary))
			fw, err := w.CreateFormFile("file", "leads.csv")
			require.NoError(t, err)
			_, err = io.WriteString(fw, "Email\n"+email+"\n")
			require.NoError(t, err)
			require.NoError(t, w.Close())
			return w.FormDataContentType(), &buf
		}
		ct, body := form("first-boundary-1a2b3c", "retry@example.com")
		first, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, ct, body, tok, header("Idempotency-Key", "form-retry"))
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, first.StatusCode(), string(first.Body))
		ct, body = form("a-new-boundary-9z8y7x6w", "retry@example.com")
		again, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, ct, body, tok, header("Idempotency-Key", "form-retry"))
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, again.StatusCode(), string(again.Body))
		require.Equal(t, first.JSON202.ID, again.JSON202.ID)
		require.Equal(t, "true", again.HTTPResponse.Header.Get("Idempotent-Replayed"))
		ct, body = form("a-new-boundary-9z8y7x6w", "other@example.com")
		other, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, ct, body, tok, header("Idempotency-Key", "form-retry"))
		require.NoError(t, err)
		require.Equal(t, "idempotency_key_reused", problem(t, other.HTTPResponse, other.Body, http.StatusConflict).Code)
	})

	t.Run("AFormWhosePartsComeAfterTheFileIsRefused", func(t *testing.T) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		fw, err := w.CreateFormFile("file", "leads.csv")
		require.NoError(t, err)
		_, err = io.WriteString(fw, "Email\nlate-part@example.com\n")
		require.NoError(t, err)
		require.NoError(t, w.WriteField("mapping", `{"Email":"email"}`))
		require.NoError(t, w.Close())
		r, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, w.FormDataContentType(), &buf, tok)
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "after_file", *(*p.Errors)[0].Code)
	})

	t.Run("TheSkipOptionComesAsAQueryParameterOrAFormPart", func(t *testing.T) {
		form := func(value string) (string, *bytes.Buffer) {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			require.NoError(t, w.WriteField("skip_if_in_other_campaign", value))
			fw, err := w.CreateFormFile("file", "leads.csv")
			require.NoError(t, err)
			_, err = io.WriteString(fw, "Email\nskip-"+value+"@example.com\n")
			require.NoError(t, err)
			require.NoError(t, w.Close())
			return w.FormDataContentType(), &buf
		}
		ct, body := form("true")
		r, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, ct, body, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.StatusCode(), string(r.Body))
		require.True(t, r.JSON202.SkipIfInOtherCampaign)
		ct, body = form("yes")
		r, err = b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, ct, body, tok)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		skip := true
		r, err = b.client.CreateLeadImportWithBodyWithResponse(ctx, &api.CreateLeadImportParams{SkipIfInOtherCampaign: &skip}, "text/csv",
			strings.NewReader("Email\nquery-skip@example.com\n"), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.StatusCode(), string(r.Body))
		require.True(t, r.JSON202.SkipIfInOtherCampaign)
		r, err = b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv", strings.NewReader("Email\nno-skip@example.com\n"), tok)
		require.NoError(t, err)
		require.False(t, r.JSON202.SkipIfInOtherCampaign)
	})

	t.Run("ThePreviewStreamsTooAndReadsOnlyTheHead", func(t *testing.T) {
		r, err := b.client.PreviewLeadImportWithBodyWithResponse(ctx, nil, "text/csv",
			streamed(func(w io.Writer) error { return leadRows(w, "preview", 20_000) }), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Len(t, r.JSON200.Records, 10)
		require.Equal(t, "preview-0@example.com", r.JSON200.Records[0].Fields["email"])
	})

	list := func(t *testing.T) int {
		l, err := b.client.ListLeadImportsWithResponse(ctx, &api.ListLeadImportsParams{}, tok)
		require.NoError(t, err)
		return len(l.JSON200.Data)
	}
	t.Run("AFileOverTheUploadLimitIs413AndStoresNothing", func(t *testing.T) {
		small := setup(t, withUploadLimit(256<<10))
		s := small.signup(t, "Small Limit Co")
		before := list(t)
		r, err := small.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv",
			streamed(func(w io.Writer) error { return leadRows(w, "huge", 10_000) }), bearer(s.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusRequestEntityTooLarge)
		l, err := small.client.ListLeadImportsWithResponse(ctx, nil, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Empty(t, l.JSON200.Data)
		require.Equal(t, before, list(t))
	})

	t.Run("OtherBodiesKeepTheSmallLimit", func(t *testing.T) {
		// A JSON body on the import route (an import from a URL) too.
		big, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "application/json",
			strings.NewReader(`{"url":"https://example.com/`+strings.Repeat("x", 70<<10)+`"}`), tok)
		require.NoError(t, err)
		problem(t, big.HTTPResponse, big.Body, http.StatusRequestEntityTooLarge)

		r, err := b.client.CreateCampaignWithBodyWithResponse(ctx, nil, "application/json",
			strings.NewReader(`{"name":"`+strings.Repeat("x", 70<<10)+`","source":"csv"}`), tok)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusRequestEntityTooLarge)
	})
}
