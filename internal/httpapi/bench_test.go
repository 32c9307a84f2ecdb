package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/leadpilot/leadpilot/api"
)

// BenchmarkRequestPaths measures what one authenticated API request costs
// end to end (HTTP, auth, rate limit, validation, tenant transaction, JSON)
// against the cheapest request through the same stack, /healthz, measured
// first in the same process. The x_healthz metric is the ratio: how many
// health checks one real request costs. Run: make bench PKG=./internal/httpapi.
func BenchmarkRequestPaths(b *testing.B) {
	bd := setup(b)
	ctx := context.Background()
	owner := bd.signup(b, "Bench Co")
	key, err := bd.client.CreateAPIKeyWithResponse(ctx, nil, api.APIKeyCreate{Name: "bench"}, bearer(owner.AccessToken))
	if err != nil || key.JSON201 == nil {
		b.Fatalf("create key: %v", err)
	}
	// 200 leads with every column a list shows, for GET /v1/leads.
	if _, err := bd.owner.Pool.Exec(ctx, `INSERT INTO leads (id, org_id, email, phone, first_name, last_name, company, job_title,
			linkedin_url, website, city, state, country, custom_fields, source)
		SELECT gen_random_uuid(), $1, 'lead' || i || '@example.com', '+4420794609' || lpad(i::text, 2, '0'), 'First' || i, 'Last', 'Company ' || i,
			'Head of Sales', 'https://www.linkedin.com/in/lead' || i, 'https://example.com', 'London', 'England', 'GB',
			'{"source_list": "bench", "score": "42"}', 'csv_import'
		FROM generate_series(1, 200) i`, owner.Organization.ID); err != nil {
		b.Fatalf("leads: %v", err)
	}
	hc := &http.Client{}
	do := func(b *testing.B, path, tok string) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, bd.srv.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	// The baseline runs first as a sub-benchmark (testing.Benchmark cannot
	// nest); its last, full-length run sets the divisor for the others.
	var baseNs float64
	b.Run("Healthz", func(b *testing.B) {
		for b.Loop() {
			do(b, "/healthz", "")
		}
		baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	for _, tc := range []struct{ name, path, tok string }{
		{"MeWithAccessToken", "/v1/me", owner.AccessToken},
		{"OrgWithAccessToken", "/v1/org", owner.AccessToken},
		{"OrgWithAPIKey", "/v1/org", key.JSON201.Secret},
		{"ListMembers", "/v1/members", owner.AccessToken},
		{"ListLeads50", "/v1/leads?limit=50", owner.AccessToken},
		{"SearchLeads50", "/v1/leads?limit=50&q=company", owner.AccessToken},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				do(b, tc.path, tc.tok)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baseNs, "x_healthz")
		})
	}
}
