// Package sendwindow decides when a message may go out: a campaign's daily
// send window (send_window_start, send_window_end, send_days) read in the
// recipient's wall-clock time.
//
// # The rule
//
// An instant is inside the window when, read in the window's location, its
// weekday is one of Days and its time of day is in [Start, End). That is the
// whole definition; [Window.Contains] applies it and everything else
// ([Window.Next], [Window.NextSpread], [Window.Schedule]) finds instants that
// satisfy it, so the functions cannot disagree with one another.
//
// # Daylight saving time
//
// Windows are in local wall time, so a 09:00–17:00 window in
// America/New_York opens at 13:00 UTC in summer and 14:00 UTC in winter, and
// on the change days it still opens at 09:00 on the local clock.
//
// A wall time that does not exist (the hour skipped when clocks spring
// forward) is never inside a window, because no instant reads it. A window
// whose Start falls in the skipped hour therefore opens at the first instant
// after the jump: 02:30–04:00 in Europe/Berlin on the last Sunday of March
// opens at 03:00 CEST, when the clocks jump from 02:00 to 03:00. A window that
// lies wholly in the skipped hour (02:15–02:45 that day) does not open that
// day; Next moves to the next allowed day.
//
// A wall time that happens twice (the hour repeated when clocks fall back)
// is inside the window both times, so a window covering the repeated hour
// is an hour longer in real time that day, and a window lying wholly in it
// (01:15–01:45 in New York on the first Sunday of November) opens twice.
// [Window.NextSpread] spreads over the stretch that starts at Next and ends
// when the window first closes, so on that day it uses the first opening.
//
// # Windows that cross midnight
//
// End must be after Start: a window such as 22:00–02:00 is rejected by
// [Parse]. The organisation and campaign settings already reject it
// (orgs.ValidateSchedule), and accepting it here would raise a question the
// settings do not answer (is Saturday 01:00 part of Friday's window when only
// Friday is a send day?). Two settings could express it later if needed.
//
// All functions are pure: they never read the clock, and randomness comes
// only from the *rand.Rand given to [Gap].
package sendwindow
