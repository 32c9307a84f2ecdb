package httpapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/api"
)

func TestLeadImportPreview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	s := b.signup(t, "Import Co")
	member := b.join(t, s, api.RoleMember)
	tok := bearer(member.AccessToken)
	preview := func(t *testing.T, ct string, body []byte, params *api.PreviewLeadImportParams) *api.PreviewLeadImportResponse {
		t.Helper()
		r, err := b.client.PreviewLeadImportWithBodyWithResponse(ctx, params, ct, bytes.NewReader(body), tok)
		require.NoError(t, err)
		return r
	}
	form := func(t *testing.T, file []byte, mapping string) (string, []byte) {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if mapping != "" {
			require.NoError(t, w.WriteField("mapping", mapping))
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="leads.csv"`)
		h.Set("Content-Type", "text/csv")
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = pw.Write(file)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return w.FormDataContentType(), buf.Bytes()
	}
	linkedIn, err := os.ReadFile("../leadimport/testdata/linkedin_connections.csv")
	require.NoError(t, err)

	t.Run("a LinkedIn export is read past its preamble and mapped without help", func(t *testing.T) {
		r := preview(t, "text/csv", linkedIn, nil)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		p := r.JSON200
		require.Equal(t, api.LeadImportPreviewEncodingUTF8, p.Encoding)
		require.Equal(t, api.LeadImportPreviewDelimiterComma, p.Delimiter)
		require.Equal(t, 4, p.HeaderLine)
		fields := map[string]string{}
		for _, c := range p.Columns {
			require.NotNil(t, c.Field, c.Header)
			fields[c.Header] = *c.Field
		}
		require.Equal(t, "linkedin_url", fields["URL"])
		require.Equal(t, "email", fields["Email Address"])
		require.Equal(t, "job_title", fields["Position"])
		require.Equal(t, []string{"Connected On"}, p.Unmapped)
		require.Len(t, p.Records, 3)
		require.Equal(t, "amelie.durand@example.fr", p.Records[0].Fields["email"])
		require.Equal(t, "Acme, SAS", p.Records[0].Fields["company"])
		require.Equal(t, 5, p.Records[0].Line)
	})

	t.Run("a form upload takes any encoding and a mapping part; only the first 10 rows are shown", func(t *testing.T) {
		var sb strings.Builder
		sb.WriteString("Courriel perso;Société;Poubelle\r\n")
		for i := range 25 {
			fmt.Fprintf(&sb, "l%d@exemple.fr;Crème %d;x\r\n", i, i)
		}
		u := utf16.Encode([]rune(sb.String()))
		file := []byte{0xFF, 0xFE}
		for _, c := range u {
			file = binary.LittleEndian.AppendUint16(file, c)
		}
		ct, body := form(t, file, `{"courriel perso":"email","Société":"company","POUBELLE":"skip"}`)
		r := preview(t, ct, body, nil)
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		p := r.JSON200
		require.Equal(t, api.LeadImportPreviewEncodingUtf16Le, p.Encoding)
		require.Equal(t, api.LeadImportPreviewDelimiterSemicolon, p.Delimiter)
		require.Len(t, p.Records, 10)
		require.Equal(t, map[string]string{"email": "l9@exemple.fr", "company": "Crème 9"}, p.Records[9].Fields)
		require.Nil(t, p.Columns[2].Field)
		require.Equal(t, api.LeadImportColumnSourceOverride, p.Columns[2].Source)
		require.Equal(t, []string{"Poubelle"}, p.Unmapped)
	})

	t.Run("the mapping may come in the query, and bad rows are reported, not refused", func(t *testing.T) {
		r := preview(t, "text/csv", []byte("Mail,Name\nok@example.com,Ann Lee,extra\nnot-an-address,Bo\n"), &api.PreviewLeadImportParams{Mapping: ptr(`{"Mail":"email"}`)})
		require.Equal(t, http.StatusOK, r.StatusCode(), string(r.Body))
		recs := r.JSON200.Records
		require.Len(t, recs, 2)
		require.Equal(t, map[string]string{"email": "ok@example.com", "first_name": "Ann", "last_name": "Lee"}, recs[0].Fields)
		require.Equal(t, "extra_columns", recs[0].Problems[0].Code)
		require.Equal(t, "invalid_email", recs[1].Problems[0].Code)
		require.Equal(t, "Mail", *recs[1].Problems[0].Column)
	})

	t.Run("a file that is not CSV is refused with a message saying what it is", func(t *testing.T) {
		ct, body := form(t, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "")
		r := preview(t, ct, body, nil)
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.NotNil(t, p.Errors)
		require.Equal(t, "not_csv", *(*p.Errors)[0].Code)
		require.Contains(t, (*p.Errors)[0].Message, "PNG")
		r = preview(t, "text/csv", []byte(`{"leads":[]}`), nil)
		p = problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Contains(t, (*p.Errors)[0].Message, "JSON")
	})

	t.Run("a mapping naming an unknown field or not JSON is refused", func(t *testing.T) {
		r := preview(t, "text/csv", linkedIn, &api.PreviewLeadImportParams{Mapping: ptr(`{"URL":"homepage"}`)})
		p := problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
		require.Equal(t, "/mapping/URL", (*p.Errors)[0].Field)
		r = preview(t, "text/csv", linkedIn, &api.PreviewLeadImportParams{Mapping: ptr(`URL=email`)})
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
	})

	t.Run("a form without the file part is refused", func(t *testing.T) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		require.NoError(t, w.WriteField("mapping", `{}`))
		require.NoError(t, w.Close())
		r := preview(t, w.FormDataContentType(), buf.Bytes(), nil)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnprocessableEntity)
	})

	t.Run("without a token it is 401", func(t *testing.T) {
		r, err := b.client.PreviewLeadImportWithBodyWithResponse(ctx, nil, "text/csv", bytes.NewReader(linkedIn))
		require.NoError(t, err)
		problem(t, r.HTTPResponse, r.Body, http.StatusUnauthorized)
	})
}
