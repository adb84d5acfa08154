package ports

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skmall/skmall/contracts/grpc/orderv1"
	"github.com/skmall/skmall/order/internal/app"
	"github.com/skmall/skmall/order/internal/domain"
	"github.com/skmall/skmall/platform/grpcx"
)

// GRPCErrors are the refusals of the gRPC adapter: the same rules as the REST adapter's.
func GRPCErrors(log *slog.Logger, lim Limits) grpcx.Errors {
	return grpcx.Errors{Log: log, Rules: errorRules(lim)}
}

// RegisterGRPC adds the order API's gRPC face to s: the same use cases and the same door as
// the REST routes, translated.
func RegisterGRPC(s *grpcx.Server, a *app.App, lim Limits, errs grpcx.Errors) {
	orderv1.RegisterOrderServiceServer(s, &orderService{a: a, lim: lim, errs: errs})
}

type orderService struct {
	orderv1.UnimplementedOrderServiceServer
	a    *app.App
	lim  Limits
	errs grpcx.Errors
}

func (s *orderService) PlaceOrder(ctx context.Context, req *orderv1.PlaceOrderRequest) (*orderv1.PlaceOrderResponse, error) {
	var key string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("idempotency-key"); len(v) > 0 {
			key = v[0]
		}
	}
	o, created, err := placeOrder(ctx, s.a, s.lim, app.PlaceOrder{
		CustomerID: req.GetCustomerId(), ProductID: req.GetProductId(), Qty: int(req.GetQty()), IdempotencyKey: key,
	})
	if err != nil {
		return nil, s.errs.Status(ctx, "PlaceOrder", err)
	}
	if !created {
		_ = grpc.SetHeader(ctx, metadata.Pairs("idempotent-replayed", "true"))
	}
	return &orderv1.PlaceOrderResponse{Order: toProto(o)}, nil
}

func (s *orderService) GetOrder(ctx context.Context, req *orderv1.GetOrderRequest) (*orderv1.GetOrderResponse, error) {
	o, err := callersOrder(ctx, s.a, req.GetOrderId())
	if err != nil {
		return nil, s.errs.Status(ctx, "GetOrder", err)
	}
	return &orderv1.GetOrderResponse{Order: toProto(o)}, nil
}

func (s *orderService) ListCustomerOrders(ctx context.Context, req *orderv1.ListCustomerOrdersRequest) (*orderv1.ListCustomerOrdersResponse, error) {
	orders, next, err := customerOrders(ctx, s.a, req.GetCustomerId(), req.GetPageToken())
	if err != nil {
		return nil, s.errs.Status(ctx, "ListCustomerOrders", err)
	}
	out := &orderv1.ListCustomerOrdersResponse{CustomerId: req.GetCustomerId(), NextPageToken: next}
	for _, o := range orders {
		out.Orders = append(out.Orders, toProto(o))
	}
	return out, nil
}

func (s *orderService) CancelOrder(ctx context.Context, req *orderv1.CancelOrderRequest) (*orderv1.CancelOrderResponse, error) {
	o, err := cancelOrder(ctx, s.a, req.GetOrderId())
	if err != nil {
		return nil, s.errs.Status(ctx, "CancelOrder", err)
	}
	return &orderv1.CancelOrderResponse{Order: toProto(o)}, nil
}

func toProto(o domain.Order) *orderv1.Order {
	return &orderv1.Order{
		OrderId: o.ID().String(), CustomerId: o.Customer().String(), ProductId: o.Product().String(),
		Qty: int32(o.Qty().Int()), Status: o.Status().String(), //nolint:gosec // a quantity is far below 2^31
		CreateTime: timestamppb.New(o.CreatedAt()), UpdateTime: timestamppb.New(o.UpdatedAt()),
	}
}
