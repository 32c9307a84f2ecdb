package sendwindow_test

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/sendwindow"
)

// A campaign sends 09:00–17:00 on weekdays in the lead's zone. Step 1 is
// due when the campaign starts on a Saturday; step 2 three calendar days
// after step 1 went out. Both land at the lead's own point of the window.
func Example() {
	w, err := sendwindow.Parse("09:00", "17:00",
		[]string{"monday", "tuesday", "wednesday", "thursday", "friday"}, "America/New_York")
	if err != nil {
		panic(err)
	}
	key := sendwindow.KeyOf(uuid.MustParse("0190f1f2-aaaa-7bbb-8ccc-000000000001"))
	started := time.Date(2026, 3, 7, 15, 0, 0, 0, time.UTC) // Saturday

	fmt.Println(w.Contains(started))
	fmt.Println(w.Next(started).Format(time.RFC3339))
	step1 := w.NextSpread(started, key)
	fmt.Println(step1.Format("Mon 2006-01-02 15:04:05 MST"))
	step2 := w.Schedule(step1, 3, key)
	fmt.Println(step2.Format("Mon 2006-01-02 15:04:05 MST"))
	// Output:
	// false
	// 2026-03-09T09:00:00-04:00
	// Mon 2026-03-09 11:04:53 EDT
	// Thu 2026-03-12 11:04:53 EDT
}
