package sequences

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBatchSizerGrowsForFastBatchesAndShrinksForSlowOnes(t *testing.T) {
	b := newBatchSizer(8)
	assert.Equal(t, 32, b.size, "starts at 4×Concurrency")

	b.observe(32, 100*time.Millisecond)
	assert.Equal(t, 64, b.size, "a batch well under the target doubles the next")
	for range 10 {
		b.observe(b.size, time.Millisecond)
	}
	assert.Equal(t, maxBatch, b.size, "never above maxBatch")

	b.observe(10, time.Millisecond)
	assert.Equal(t, maxBatch, b.size, "a short (last) batch says nothing")

	b.observe(b.size, 700*time.Millisecond)
	assert.Equal(t, maxBatch, b.size, "a batch near the target keeps the size")

	for range 10 {
		b.observe(b.size, 3*time.Second)
	}
	assert.Equal(t, 32, b.size, "slow batches halve it, down to 4×Concurrency")

	assert.Equal(t, maxBatch, newBatchSizer(500).size, "a huge concurrency still fits one events statement")
}
