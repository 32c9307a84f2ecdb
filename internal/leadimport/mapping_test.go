package leadimport

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMapVariants(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"Email": "email", "E-mail Address": "email", "EMAIL_ADDRESS": "email", " e.mail ": "email", "Courriel": "email",
		"first name": "first_name", "FirstName": "first_name", "first_name": "first_name", "Given Name": "first_name", "Prénom": "first_name",
		"Family Name": "last_name", "SURNAME": "last_name", "Name": "full_name",
		"Organization 1 - Name": "company", "Company Name": "company", "Organisation": "company",
		"Organization 1 - Title": "job_title", "Job-Title": "job_title", "Position": "job_title",
		"Phone 1 - Value": "phone", "Mobile Phone": "phone", "Business Phone": "phone",
		"WhatsApp": "whatsapp", "LinkedIn Profile URL": "linkedin_url", "Person Linkedin Url": "linkedin_url",
		"Website URL": "website", "Web Page": "website", "Country/Region": "country", "State/Province": "state",
		"Time Zone": "timezone", "# Employees": "custom.company_size", "Lead Source (2)": "custom.lead_source_2",
		"Ünïcödé Fïeld": "custom.unicode_field",
	}
	for header, want := range cases {
		t.Run(header+" maps to "+want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, want, Map([]string{header}, nil)[0].Field)
		})
	}
}

func TestMapPrecedence(t *testing.T) {
	t.Parallel()
	t.Run("a person's own phone wins over a home or company line placed before it", func(t *testing.T) {
		t.Parallel()
		cols := Map([]string{"Home Phone", "Company Phone", "Mobile Phone"}, nil)
		require.Equal(t, []string{"custom.home_phone", "custom.company_phone", "phone"}, []string{cols[0].Field, cols[1].Field, cols[2].Field})
		require.Equal(t, "duplicate", cols[0].Source)
	})
	t.Run("a weak synonym maps when nothing else does", func(t *testing.T) {
		t.Parallel()
		cols := Map([]string{"Title", "Home Phone"}, nil)
		require.Equal(t, "job_title", cols[0].Field)
		require.Equal(t, "phone", cols[1].Field)
	})
	t.Run("URL is the LinkedIn profile only in a LinkedIn export", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "website", Map([]string{"Email", "URL"}, nil)[1].Field)
		require.Equal(t, "linkedin_url", Map([]string{"Email", "URL", "Connected On"}, nil)[1].Field)
	})
	t.Run("repeated headers get distinct custom keys and empty headers are skipped", func(t *testing.T) {
		t.Parallel()
		cols := Map([]string{"Email", "Email", "Tag", "tag", ""}, nil)
		require.Equal(t, []string{"email", "custom.email", "custom.tag", "custom.tag_2", ""},
			[]string{cols[0].Field, cols[1].Field, cols[2].Field, cols[3].Field, cols[4].Field})
		require.Equal(t, "empty", cols[4].Source)
	})
	t.Run("override fields are checked", func(t *testing.T) {
		t.Parallel()
		for _, ok := range []string{"email", "skip", "custom.x_1", "full_name"} {
			require.True(t, ValidField(ok), ok)
		}
		for _, bad := range []string{"", "homepage", "custom.", "custom.Bad Key", "id", "org_id", "status"} {
			require.False(t, ValidField(bad), bad)
		}
	})
}
