//go:build tools

// Package tools names the commands this module builds, so that go.sum covers all they import.
package tools

import (
	_ "github.com/ollama/ollama"
)
