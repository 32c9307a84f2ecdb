package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/suppressions"
)

func TestSuppressions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Suppress Co")
	member := b.join(t, s, api.RoleMember)
	owner, mem := bearer(s.AccessToken), bearer(member.AccessToken)

	t.Run("AddNormalisesAndADuplicateAnswers200WithTheExistingEntry", func(t *testing.T) {
		r, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: " Ada@Example.COM ", Reason: ptr(api.SuppressionReasonUnsubscribe)}, mem)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		require.Equal(t, "ada@example.com", r.JSON201.Value)
		require.Equal(t, api.SuppressionKindEmail, r.JSON201.Kind)
		require.Equal(t, "api", *r.JSON201.Source)

		again, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "ADA@example.com", Kind: ptr(api.SuppressionKindEmail)}, mem)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, again.StatusCode(), string(again.Body))
		require.Equal(t, r.JSON201.ID, again.JSON200.ID)
		require.Equal(t, api.SuppressionReasonUnsubscribe, again.JSON200.Reason)
	})

	t.Run("PhonesBecomeE164InTheGivenRegion", func(t *testing.T) {
		r, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "(415) 555-2671", Region: ptr("us"), Reason: ptr(api.SuppressionReasonStopReply)}, mem)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		require.Equal(t, api.SuppressionKindPhone, r.JSON201.Kind)
		require.Equal(t, "+14155552671", r.JSON201.Value)
	})

	t.Run("AValueThatDoesNotNormaliseIs422", func(t *testing.T) {
		r, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "ada@localhost", Kind: ptr(api.SuppressionKindEmail)}, mem)
		require.NoError(t, err)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "/value", (*p.Errors)[0].Field)
	})

	t.Run("ASuppressedDomainSuppressesEveryAddressAtIt", func(t *testing.T) {
		r, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "@Blocked.Example", Kind: ptr(api.SuppressionKindDomain), Reason: ptr(api.SuppressionReasonComplaint)}, mem)
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, r.StatusCode(), string(r.Body))
		require.Equal(t, "blocked.example", r.JSON201.Value)
		err = b.db.InTenant(ctx, database.Tenant{OrgID: s.Organization.ID}, func(ctx context.Context, tx bun.IDB) error {
			hits, err := suppressions.Check(ctx, tx, []suppressions.Contact{{Email: "anyone@blocked.example"}, {Email: "x@notblocked.example"}})
			require.NoError(t, err)
			require.Len(t, hits, 1)
			require.Equal(t, 0, hits[0].Index)
			require.Equal(t, r.JSON201.ID, hits[0].Suppression.ID)
			return nil
		})
		require.NoError(t, err)
	})

	t.Run("ListFiltersAndSearchesByPrefix", func(t *testing.T) {
		r, err := b.client.ListSuppressionsWithResponse(ctx, &api.ListSuppressionsParams{Kind: ptr(api.SuppressionKindPhone)}, mem)
		require.NoError(t, err)
		require.Len(t, r.JSON200.Data, 1)
		require.Equal(t, "+14155552671", r.JSON200.Data[0].Value)
		r, err = b.client.ListSuppressionsWithResponse(ctx, &api.ListSuppressionsParams{Q: ptr("ADA@")}, mem)
		require.NoError(t, err)
		require.Len(t, r.JSON200.Data, 1)
		r, err = b.client.ListSuppressionsWithResponse(ctx, &api.ListSuppressionsParams{Reason: ptr(api.SuppressionReasonBounce)}, mem)
		require.NoError(t, err)
		require.Empty(t, r.JSON200.Data)
	})

	t.Run("OnlyAdminsRemoveAndASecondRemoveIs404", func(t *testing.T) {
		c, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "gone@example.com"}, mem)
		require.NoError(t, err)
		d, err := b.client.DeleteSuppressionWithResponse(ctx, c.JSON201.ID, mem)
		require.NoError(t, err)
		problem(t, d.HTTPResponse, d.Body, http.StatusForbidden)
		d, err = b.client.DeleteSuppressionWithResponse(ctx, c.JSON201.ID, owner)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, d.StatusCode(), string(d.Body))
		d, err = b.client.DeleteSuppressionWithResponse(ctx, c.JSON201.ID, owner)
		require.NoError(t, err)
		problem(t, d.HTTPResponse, d.Body, http.StatusNotFound)
	})
}

func TestSuppressionsBulk(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Bulk Co")
	tok := bearer(s.AccessToken)
	bulk := func(t *testing.T, ct, csv string, params *api.BulkCreateSuppressionsParams, edit ...api.RequestEditorFn) *api.BulkCreateSuppressionsResponse {
		t.Helper()
		r, err := b.client.BulkCreateSuppressionsWithBodyWithResponse(ctx, params, ct, strings.NewReader(csv), append([]api.RequestEditorFn{tok}, edit...)...)
		require.NoError(t, err)
		return r
	}

	t.Run("CountsEveryRowAndDescribesTheBadOnes", func(t *testing.T) {
		_, err := b.client.CreateSuppressionWithResponse(ctx, nil, api.SuppressionCreate{Value: "known@example.com"}, tok)
		require.NoError(t, err)
		csv := "value,reason\n" +
			"one@example.com\n" +
			"KNOWN@example.com,bounce\n" +
			"One@Example.com\n" +
			"not-an-address@\n" +
			"020 7946 0958,stop_reply\n" +
			"+44 20 7946 0958\n" +
			"spam.example\n" +
			"two@example.com,furious\n"
		r := bulk(t, "text/csv", csv, &api.BulkCreateSuppressionsParams{Region: ptr("GB"), Source: ptr("old-crm")})
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, api.SuppressionBulkResult{
			Added: 3, AlreadyPresent: 1, Duplicates: 2, Invalid: 2,
			Errors: []api.SuppressionRowError{
				{Line: 5, Value: "not-an-address@", Code: "invalid_email", Message: r.JSON200.Errors[0].Message},
				{Line: 9, Value: "two@example.com", Code: "invalid_reason", Message: r.JSON200.Errors[1].Message},
			},
		}, *r.JSON200)
		require.NotEmpty(t, r.JSON200.Errors[0].Message)
		l, err := b.client.ListSuppressionsWithResponse(ctx, &api.ListSuppressionsParams{Q: ptr("+44")}, tok)
		require.NoError(t, err)
		require.Len(t, l.JSON200.Data, 1)
		require.Equal(t, "+442079460958", l.JSON200.Data[0].Value)
		require.Equal(t, api.SuppressionReasonStopReply, l.JSON200.Data[0].Reason)
		require.Equal(t, "old-crm", *l.JSON200.Data[0].Source)
	})

	t.Run("MediaTypesCompareCaseInsensitively", func(t *testing.T) {
		r := bulk(t, "Text/CSV; Charset=UTF-8", "cased@example.com\n", nil)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, 1, r.JSON200.Added)
	})

	t.Run("JSONIs415ForTheCSVOperationAndCSVIs415ForJSONOnes", func(t *testing.T) {
		r := bulk(t, "application/json", `{"value":"x@example.com"}`, nil)
		require.Equal(t, "unsupported_media_type", problem(t, r.HTTPResponse, r.Body, http.StatusUnsupportedMediaType).Code)
		resp, body := b.raw(t, http.MethodPost, "/v1/suppressions", "value\nx@example.com\n", withBearer(s.AccessToken), func(r *http.Request) { r.Header.Set("Content-Type", "text/csv") })
		require.Equal(t, "unsupported_media_type", problem(t, resp, body, http.StatusUnsupportedMediaType).Code)
		r = bulk(t, "text/csv; charset=latin1", "x@example.com\n", nil)
		require.Equal(t, "unsupported_charset", problem(t, r.HTTPResponse, r.Body, http.StatusUnsupportedMediaType).Code)
	})

	t.Run("InvalidUTF8Is400AndAnUnreadableCSVIs422", func(t *testing.T) {
		r := bulk(t, "text/csv", "caf\xe9@example.com\n", nil)
		require.Equal(t, "invalid_utf8", problem(t, r.HTTPResponse, r.Body, http.StatusBadRequest).Code)
		r = bulk(t, "text/csv", "a@example.com\n\"b@example.com\n", nil)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
	})

	t.Run("AnOverSizeBodyIs413AndAddsNothing", func(t *testing.T) {
		var sb strings.Builder
		for i := 0; sb.Len() <= 64<<10; i++ {
			fmt.Fprintf(&sb, "huge%d@example.com\n", i)
		}
		r := bulk(t, "text/csv", sb.String(), nil)
		problem(t, r.HTTPResponse, r.Body, http.StatusRequestEntityTooLarge)
		l, err := b.client.ListSuppressionsWithResponse(ctx, &api.ListSuppressionsParams{Q: ptr("huge")}, tok)
		require.NoError(t, err)
		require.Empty(t, l.JSON200.Data)
	})

	t.Run("ARetryWithTheSameIdempotencyKeyReplaysTheFirstAnswer", func(t *testing.T) {
		key := header("Idempotency-Key", "bulk-1")
		first := bulk(t, "text/csv", "idem@example.com\n", nil, key)
		require.Equal(t, http.StatusOK, first.StatusCode(), string(first.Body))
		again := bulk(t, "text/csv", "idem@example.com\n", nil, key)
		require.Equal(t, http.StatusOK, again.StatusCode())
		require.Equal(t, "true", again.HTTPResponse.Header.Get("Idempotent-Replayed"))
		require.Equal(t, 1, again.JSON200.Added, "the first answer, not a second run's")
	})
}

func TestSuppressionsBulkUpload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Upload Co")
	form := func(t *testing.T, part, csv string) (string, *bytes.Buffer) {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+part+`"; filename="list.csv"`)
		h.Set("Content-Type", "text/csv")
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = pw.Write([]byte(csv))
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return w.FormDataContentType(), &buf
	}

	t.Run("AFormUploadIsReadLikeACSVBody", func(t *testing.T) {
		ct, body := form(t, "file", "value,reason\nform@example.com,bounce\nbad@\n")
		r, err := b.client.BulkCreateSuppressionsWithBodyWithResponse(ctx, nil, ct, body, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		require.Equal(t, 1, r.JSON200.Added)
		require.Equal(t, 1, r.JSON200.Invalid)
	})

	t.Run("AFormWithoutTheFilePartIsRefused", func(t *testing.T) {
		ct, body := form(t, "other", "x@example.com\n")
		r, err := b.client.BulkCreateSuppressionsWithBodyWithResponse(ctx, nil, ct, body, bearer(s.AccessToken))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusBadRequest)
		l, err := b.client.ListSuppressionsWithResponse(ctx, &api.ListSuppressionsParams{Q: ptr("x@")}, bearer(s.AccessToken))
		require.NoError(t, err)
		require.Empty(t, l.JSON200.Data)
	})
}
