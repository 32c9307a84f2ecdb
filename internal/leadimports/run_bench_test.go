package leadimports

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/leadpilot/leadpilot/internal/leadimport"
)

// leadFile streams a lead CSV of n rows shaped like .ci/gen-leads's (11
// columns, about 200 bytes a row, every address distinct), so that the
// file itself takes no memory.
func leadFile(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := csv.NewWriter(pw)
		_ = w.Write([]string{"email", "first_name", "last_name", "company", "job_title", "phone",
			"linkedin_url", "website", "city", "state", "country"})
		for i := 1; i <= n; i++ {
			d := "company" + strconv.Itoa(i%5000) + ".example"
			_ = w.Write([]string{"first.last" + strconv.Itoa(i) + "@" + d, "First", "Last", "Company " + strconv.Itoa(i%5000),
				"Head of Sales", fmt.Sprintf("+1 415 555 %04d", i%10000), "https://www.linkedin.com/in/first-last-" + strconv.Itoa(i),
				"https://www." + d, "San Francisco", "CA", "US"})
		}
		w.Flush()
		pw.CloseWithError(w.Error())
	}()
	return pr
}

// BenchmarkReadBatches is Run's Go side without the database: reading,
// classifying and batching BENCH_ROWS rows (default 200,000) in batches of
// DefaultBatchSize. It reports rows/s, the peak of the heap in use
// (sampled at each batch) and what is live at the last batch (mostly
// the set of identities seen).
func BenchmarkReadBatches(b *testing.B) {
	rows := 200000
	if v, err := strconv.Atoi(os.Getenv("BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	var peak, live uint64
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		rd, err := leadimport.Open(leadFile(rows), leadimport.Options{})
		if err != nil {
			b.Fatal(err)
		}
		total := 0
		var keep *batch
		err = readBatches(rd, 0, DefaultBatchSize, "", func(bt *batch) bool {
			total += bt.counts.RowsSeen
			if bt.counts.Invalid+bt.counts.DuplicatesInFile != 0 {
				b.Fatalf("rejected rows: %+v", bt.counts)
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse-min(base, ms.HeapInuse))
			if bt.counts.RowsSeen < DefaultBatchSize {
				// the last batch: what is live now is mostly the set of
				// identities seen, which readBatches still holds
				runtime.GC()
				runtime.ReadMemStats(&ms)
				live = ms.HeapInuse - min(base, ms.HeapInuse)
			}
			keep = bt
			return true
		})
		if err != nil {
			b.Fatal(err)
		}
		if total != rows {
			b.Fatalf("%d rows, not %d", total, rows)
		}
		runtime.KeepAlive(keep)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "live-at-end-MB")
}
