package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/leadimports"
)

func TestLeadImports(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Bulk Import Co")
	member := b.join(t, s, api.RoleMember)
	tok := bearer(member.AccessToken)
	camp, err := b.client.CreateCampaignWithResponse(ctx, nil, api.CampaignCreate{Name: "Imported", Source: api.CampaignSourceCsv}, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, camp.StatusCode(), string(camp.Body))
	campID := camp.JSON201.ID
	sup, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "priya@initech.example"}, tok)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, sup.StatusCode(), string(sup.Body))

	linkedIn, err := os.ReadFile("../leadimport/testdata/linkedin_connections.csv")
	require.NoError(t, err)
	// The export, plus a repeat of line 5's address and a bad address.
	file := append(bytes.TrimRight(linkedIn, "\r\n"), "\nAmy,Repeat,,Amelie.Durand@example.fr,,,\nBad,Row,,nope@,,,\n"...)

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	require.NoError(t, w.WriteField("campaign_id", campID.String()))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="connections.csv"`)
	h.Set("Content-Type", "text/csv")
	pw, err := w.CreatePart(h)
	require.NoError(t, err)
	_, err = pw.Write(file)
	require.NoError(t, err)
	require.NoError(t, w.Close())

	created, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, w.FormDataContentType(), bytes.NewReader(buf.Bytes()), tok, header("Idempotency-Key", "import-1"))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, created.StatusCode(), string(created.Body))
	imp := *created.JSON202
	require.Equal(t, api.LeadImportStatusQueued, imp.Status)
	require.Equal(t, &campID, imp.CampaignID)
	require.Equal(t, "connections.csv", *imp.FileName)
	require.EqualValues(t, len(file), imp.FileBytes)

	t.Run("ARetryWithTheSameKeyAnswersTheSameImport", func(t *testing.T) {
		again, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, w.FormDataContentType(), bytes.NewReader(buf.Bytes()), tok, header("Idempotency-Key", "import-1"))
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, again.StatusCode(), string(again.Body))
		require.Equal(t, imp.ID, again.JSON202.ID)
	})

	// The worker's handler, run here synchronously.
	task, err := jobs.NewLeadImportTask(s.Organization.ID, imp.ID)
	require.NoError(t, err)
	require.NoError(t, jobs.NewLeadImportHandler(leadimports.NewService(b.db, nil)).ProcessTask(ctx, task))

	t.Run("TheImportShowsItsCounts", func(t *testing.T) {
		got, err := b.client.GetLeadImportWithResponse(ctx, imp.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode(), string(got.Body))
		require.Equal(t, api.LeadImportStatusCompleted, got.JSON200.Status)
		require.Equal(t, api.LeadImportCounts{RowsSeen: 5, Inserted: 2, DuplicatesInFile: 1, Invalid: 1, Suppressed: 1}, got.JSON200.Counts)
		leads, err := b.client.ListLeadsWithResponse(ctx, &api.ListLeadsParams{CampaignID: &campID}, tok)
		require.NoError(t, err)
		require.Len(t, leads.JSON200.Data, 2)
	})

	t.Run("TheErrorsAreACSVOfTheRejectedRows", func(t *testing.T) {
		got, err := b.client.GetLeadImportErrorsWithResponse(ctx, imp.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, got.StatusCode(), string(got.Body))
		require.True(t, strings.HasPrefix(got.HTTPResponse.Header.Get("Content-Type"), "text/csv"))
		rows, err := csv.NewReader(bytes.NewReader(got.Body)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 4, string(got.Body))
		require.Equal(t, []string{"7", "suppressed"}, rows[1][:2])
		require.Equal(t, []string{"8", "duplicate_in_file"}, rows[2][:2])
		require.Equal(t, "9", rows[3][0])
		require.Equal(t, "invalid_email", rows[3][1])
	})

	t.Run("TheListHoldsTheImportAndAFinishedImportCannotBeCancelled", func(t *testing.T) {
		list, err := b.client.ListLeadImportsWithResponse(ctx, nil, tok)
		require.NoError(t, err)
		require.Len(t, list.JSON200.Data, 1)
		require.Equal(t, imp.ID, list.JSON200.Data[0].ID)
		c, err := b.client.CancelLeadImportWithResponse(ctx, imp.ID, tok)
		require.NoError(t, err)
		problem(t, c.HTTPResponse, c.Body, http.StatusConflict)
	})

	t.Run("AQueuedImportIsCancelledAndItsRunDoesNothing", func(t *testing.T) {
		r, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv", strings.NewReader("Email\nlate@example.com\n"), tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.StatusCode(), string(r.Body))
		c, err := b.client.CancelLeadImportWithResponse(ctx, r.JSON202.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, c.StatusCode(), string(c.Body))
		require.Equal(t, api.LeadImportStatusCancelled, c.JSON200.Status)
		task, err := jobs.NewLeadImportTask(s.Organization.ID, r.JSON202.ID)
		require.NoError(t, err)
		require.NoError(t, jobs.NewLeadImportHandler(leadimports.NewService(b.db, nil)).ProcessTask(ctx, task))
		got, err := b.client.GetLeadImportWithResponse(ctx, r.JSON202.ID, tok)
		require.NoError(t, err)
		require.Equal(t, api.LeadImportStatusCancelled, got.JSON200.Status)
		require.Zero(t, got.JSON200.Counts.Inserted)
	})

	t.Run("AnHTTPSURLIsQueuedWithItsSourceURL", func(t *testing.T) {
		mapping := map[string]string{"Mail": "email"}
		r, err := b.client.CreateLeadImportWithResponse(ctx, nil, api.CreateLeadImportJSONRequestBody{
			URL: "https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=42", CampaignID: &campID, Mapping: &mapping}, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, r.StatusCode(), string(r.Body))
		require.Equal(t, api.LeadImportStatusQueued, r.JSON202.Status)
		require.Equal(t, "https://docs.google.com/spreadsheets/d/1AbC-d_9/export?format=csv&gid=42", *r.JSON202.SourceURL)
		require.Equal(t, "1AbC-d_9", *r.JSON202.FileName)
		require.Equal(t, &campID, r.JSON202.CampaignID)
		require.Equal(t, mapping, r.JSON202.Mapping)
		got, err := b.client.GetLeadImportWithResponse(ctx, r.JSON202.ID, tok)
		require.NoError(t, err)
		require.Equal(t, r.JSON202.SourceURL, got.JSON200.SourceURL)
		c, err := b.client.CancelLeadImportWithResponse(ctx, r.JSON202.ID, tok)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, c.StatusCode(), string(c.Body))
	})

	t.Run("AnUploadHasNoSourceURL", func(t *testing.T) {
		require.Nil(t, imp.SourceURL)
	})

	t.Run("AnHTTPURLIsRefusedWith422", func(t *testing.T) {
		r, err := b.client.CreateLeadImportWithResponse(ctx, nil, api.CreateLeadImportJSONRequestBody{URL: "http://example.com/leads.csv"}, tok)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Contains(t, string(r.Body), "/url")
	})

	t.Run("AnUnknownMemberOfTheJSONBodyIsRefused", func(t *testing.T) {
		r, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "application/json",
			strings.NewReader(`{"url":"https://example.com/leads.csv","URL":"https://127.0.0.1/"}`), tok)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
	})

	t.Run("AFileThatIsNotCSVIsRefused", func(t *testing.T) {
		js, err := os.ReadFile("../leadimport/testdata/not_csv.json")
		require.NoError(t, err)
		r, err := b.client.CreateLeadImportWithBodyWithResponse(ctx, nil, "text/csv", bytes.NewReader(js), tok)
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Contains(t, string(r.Body), "not_csv")
	})
}
