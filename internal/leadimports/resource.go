package leadimports

import (
	"github.com/leadpilot/leadpilot/api"
)

// Resource is i as the API returns it (openapi.yaml's LeadImport): the
// handlers' response and the data of its events.
func (i Import) Resource() api.LeadImport {
	out := api.LeadImport{
		ID: i.ID, CampaignID: i.CampaignID, Status: api.LeadImportStatus(i.Status), Mapping: i.Mapping,
		FileBytes: i.FileBytes, CreatedAt: i.CreatedAt, StartedAt: i.StartedAt, FinishedAt: i.FinishedAt,
		Counts: api.LeadImportCounts{
			RowsSeen: i.Counts.RowsSeen, Inserted: i.Counts.Inserted, DuplicatesInFile: i.Counts.DuplicatesInFile,
			AlreadyPresent: i.Counts.AlreadyPresent, Invalid: i.Counts.Invalid, Suppressed: i.Counts.Suppressed,
			InOtherCampaign: i.Counts.InOtherCampaign,
		},
		SkipIfInOtherCampaign: i.SkipIfInOtherCampaign,
	}
	if i.FileName != "" {
		out.FileName = &i.FileName
	}
	if i.Error != "" {
		out.Error = &i.Error
	}
	if i.SourceURL != "" {
		out.SourceURL = &i.SourceURL
	}
	return out
}
