// Command order takes and cancels customers' orders.
package main

import (
	"github.com/skmall/skmall/order/internal/service"
	"github.com/skmall/skmall/platform/svc"
)

func main() { svc.Main("order", service.Run) }
