package bounce

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// ordinaryReply is a typical synced reply from a person: it must be
// rejected after the header.
const ordinaryReply = "Return-Path: <maud@northbeam.example>\r\n" +
	"From: Maud Ellery <maud@northbeam.example>\r\n" +
	"To: Sam <sales@leadpilot.example>\r\n" +
	"Subject: Re: Quick question\r\n" +
	"Date: Tue, 9 Apr 2024 17:22:19 +0200\r\n" +
	"Message-ID: <CAF3x9QkN2v@mail.gmail.com>\r\n" +
	"In-Reply-To: <lp-1@leadpilot.example>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" +
	"--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nSounds good, Thursday works. The invoice was undelivered though.\r\n" +
	"--b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<div>Sounds good</div>\r\n--b1--\r\n"

func BenchmarkDetect(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		b.Fatal(err)
	}
	var bounces [][]byte
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "not-") {
			bounces = append(bounces, readFixture(b, filepath.Base(f)))
		}
	}
	reply := []byte(ordinaryReply)
	// A realistic inbox: about one message in ten is a bounce.
	var mix [][]byte
	for i, m := range bounces {
		mix = append(mix, m)
		for j := 0; j < 9; j++ {
			if j == 0 && i%2 == 0 {
				mix = append(mix, readFixture(b, "not-reply-quoting-undelivered.eml"))
				continue
			}
			mix = append(mix, reply)
		}
	}
	run := func(name string, msgs [][]byte) {
		b.Run(name, func(b *testing.B) {
			var bytes int64
			for _, m := range msgs {
				bytes += int64(len(m))
			}
			b.SetBytes(bytes / int64(len(msgs)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Detect(msgs[i%len(msgs)])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
	run("OrdinaryReply", [][]byte{reply})
	run("Bounces", bounces)
	run(fmt.Sprintf("Mix%d", len(mix)), mix)
}
