// Command delivery starts and cancels the deliveries of orders.
package main

import (
	"github.com/skmall/skmall/delivery/internal/service"
	"github.com/skmall/skmall/platform/svc"
)

func main() { svc.Main("delivery", service.Run) }
