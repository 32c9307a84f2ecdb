package templates

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/placeholder"
)

// Limits on what a template may hold.
const (
	MaxSteps       = 10
	MaxNameLen     = 200
	MaxLabelLen    = 100 // industry, use_case
	MaxDescription = 2000
	MaxSubjectLen  = 300
	MaxBodyLen     = 10000
	MaxDelayDays   = 365
)

// StepInput is one step as a caller writes it; its number is its position.
type StepInput struct {
	DelayDays int
	Channel   string
	Subject   string
	Body      string
}

// Input is a whole template as a caller writes it. Channels are not
// written: they are the channels the steps use.
type Input struct {
	Name        string
	Description string
	Industry    string
	UseCase     string
	IsPublic    bool
	Steps       []StepInput
}

// Valid is an Input that passed Validate, trimmed and numbered.
type Valid struct {
	Input
	Channels []string
	Steps    []Step
}

func (v Valid) row(id uuid.UUID, org *uuid.UUID) templateRow {
	return templateRow{
		ID: id, OrgID: org, Name: v.Name, Description: nullable(v.Description), Industry: nullable(v.Industry),
		UseCase: nullable(v.UseCase), Steps: v.Steps, Channels: v.Channels, IsPublic: v.IsPublic,
	}
}

// Validate checks a template against the rules every template follows,
// wherever it comes from (the API, a clone, the seeds): a name; one to
// MaxSteps steps; delays from 0 to MaxDelayDays that never decrease;
// channels email, whatsapp or sms; a subject on email steps and on no
// other; a body on every step; and subjects and bodies that parse with
// the placeholder grammar. Every problem is reported, each as a field
// error whose Field is a JSON pointer into the request
// ("/steps/1/subject").
func Validate(in Input) (Valid, error) {
	var f fault.Fields
	v := Valid{Input: in}
	v.Name = strings.TrimSpace(in.Name)
	v.Description = strings.TrimSpace(in.Description)
	v.Industry = strings.TrimSpace(in.Industry)
	v.UseCase = strings.TrimSpace(in.UseCase)
	switch n := utf8.RuneCountInString(v.Name); {
	case n == 0:
		f.Add("/name", "required", "must not be blank")
	case n > MaxNameLen:
		f.Add("/name", "too_long", fmt.Sprintf("must be at most %d characters", MaxNameLen))
	}
	if utf8.RuneCountInString(v.Description) > MaxDescription {
		f.Add("/description", "too_long", fmt.Sprintf("must be at most %d characters", MaxDescription))
	}
	for _, l := range [...]struct{ field, text string }{{"/industry", v.Industry}, {"/use_case", v.UseCase}} {
		if utf8.RuneCountInString(l.text) > MaxLabelLen {
			f.Add(l.field, "too_long", fmt.Sprintf("must be at most %d characters", MaxLabelLen))
		}
	}

	switch {
	case len(in.Steps) == 0:
		f.Add("/steps", "required", "a template needs at least one step")
	case len(in.Steps) > MaxSteps:
		f.Add("/steps", "too_many", fmt.Sprintf("a template has at most %d steps", MaxSteps))
	}
	prevDelay := 0
	for i, s := range in.Steps {
		p := fmt.Sprintf("/steps/%d", i)
		st := Step{Step: i + 1, DelayDays: s.DelayDays, Channel: strings.TrimSpace(s.Channel), Subject: strings.TrimSpace(s.Subject), Body: strings.TrimSpace(s.Body)}
		switch {
		case s.DelayDays < 0:
			f.Add(p+"/delay_days", "out_of_range", "must not be negative")
		case s.DelayDays > MaxDelayDays:
			f.Add(p+"/delay_days", "out_of_range", fmt.Sprintf("must be at most %d", MaxDelayDays))
		case s.DelayDays < prevDelay:
			f.Add(p+"/delay_days", "out_of_order", fmt.Sprintf("delays count from the start of the sequence and must not decrease: step %d is at day %d", i, prevDelay))
		}
		prevDelay = max(prevDelay, s.DelayDays)

		if !slices.Contains(channelOrder, st.Channel) {
			f.Add(p+"/channel", "invalid", "must be email, whatsapp or sms")
		}
		switch {
		case st.Channel == ChannelEmail && st.Subject == "":
			f.Add(p+"/subject", "required", "email steps need a subject")
		case st.Channel != ChannelEmail && st.Subject != "":
			f.Add(p+"/subject", "not_allowed", "only email steps have a subject")
		case utf8.RuneCountInString(st.Subject) > MaxSubjectLen:
			f.Add(p+"/subject", "too_long", fmt.Sprintf("must be at most %d characters", MaxSubjectLen))
		case strings.ContainsAny(st.Subject, "\r\n"):
			f.Add(p+"/subject", "invalid", "must be one line")
		}
		switch {
		case st.Body == "":
			f.Add(p+"/body", "required", "must not be blank")
		case utf8.RuneCountInString(st.Body) > MaxBodyLen:
			f.Add(p+"/body", "too_long", fmt.Sprintf("must be at most %d characters", MaxBodyLen))
		}
		for _, t := range [...]struct{ field, text string }{{"/subject", st.Subject}, {"/body", st.Body}} {
			if _, err := placeholder.Parse(t.text); err != nil {
				f.Add(p+t.field, "placeholder_syntax", err.Error())
			}
		}
		v.Steps = append(v.Steps, st)
	}
	if err := f.Err(); err != nil {
		return Valid{}, err
	}
	for _, c := range channelOrder {
		if slices.ContainsFunc(v.Steps, func(s Step) bool { return s.Channel == c }) {
			v.Channels = append(v.Channels, c)
		}
	}
	return v, nil
}
