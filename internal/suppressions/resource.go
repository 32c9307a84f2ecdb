package suppressions

import (
	"github.com/leadpilot/leadpilot/api"
)

// Resource is r as the API returns it (openapi.yaml's Suppression): the
// handlers' response and the data of its events.
func (r Suppression) Resource() api.Suppression {
	return api.Suppression{
		ID: r.ID, Kind: api.SuppressionKind(r.Kind), Value: r.Value, Reason: api.SuppressionReason(r.Reason),
		Source: r.Source, CreatedAt: r.CreatedAt,
	}
}
