// Command mypage shows customers everything about their orders, built from events.
package main

import (
	"github.com/skmall/skmall/mypage/internal/service"
	"github.com/skmall/skmall/platform/svc"
)

func main() { svc.Main("mypage", service.Run) }
