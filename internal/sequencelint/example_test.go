package sequencelint_test

import (
	"fmt"

	"github.com/leadpilot/leadpilot/internal/orgs"
	"github.com/leadpilot/leadpilot/internal/sequencelint"
)

func Example() {
	sender := "Sam Lee"
	report := sequencelint.Lint([]sequencelint.Step{
		{Step: 1, Channel: "email", Subject: "Quick question", Body: "Hi {{first_name|there}}, act now: {{discount}}.\n\nReply unsubscribe to opt out."},
		{Step: 2, DelayDays: 3, Channel: "sms", Body: "Hi {{first_name}} 👋 Reply STOP to opt out"},
	}, sequencelint.Context{
		Business: orgs.BusinessContext{SenderName: &sender},
		Country:  "US",
	})
	for _, f := range report.Findings {
		fmt.Println(f.Step, f.Field, f.Code, f.Severity)
	}
	fmt.Println("blocking:", report.Blocking())
	// Output:
	// 1 /steps/0/body unresolved_placeholder error
	// 1 /steps/0/body spam_phrase warning
	// 1 /steps/0 missing_postal_address error
	// 2 /steps/1/body send_time_placeholder info
	// 2 /steps/1/body sms_encoding info
	// blocking: true
}
