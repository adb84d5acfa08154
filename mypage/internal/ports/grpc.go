package ports

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/skmall/skmall/contracts/grpc/mypagev1"
	"github.com/skmall/skmall/mypage/internal/app"
	"github.com/skmall/skmall/mypage/internal/domain"
	"github.com/skmall/skmall/platform/grpcx"
)

// RegisterGRPC adds the page's gRPC face to s: the same use case and door as the REST route.
func RegisterGRPC(s *grpcx.Server, a *app.App, errs grpcx.Errors) {
	mypagev1.RegisterMyPageServiceServer(s, &pageService{a: a, errs: errs})
}

type pageService struct {
	mypagev1.UnimplementedMyPageServiceServer
	a    *app.App
	errs grpcx.Errors
}

func (s *pageService) ListPageOrders(ctx context.Context, req *mypagev1.ListPageOrdersRequest) (*mypagev1.ListPageOrdersResponse, error) {
	rows, next, err := pageOrders(ctx, s.a, req.GetCustomerId(), req.GetPageToken())
	if err != nil {
		return nil, s.errs.Status(ctx, "ListPageOrders", err)
	}
	out := &mypagev1.ListPageOrdersResponse{CustomerId: req.GetCustomerId(), NextPageToken: next}
	for _, r := range rows {
		out.Orders = append(out.Orders, toProto(r))
	}
	return out, nil
}

func toProto(r domain.Row) *mypagev1.PageOrder {
	return &mypagev1.PageOrder{
		OrderId: r.OrderID().String(), ProductId: r.ProductID().String(),
		Qty:         int32(r.Qty().Int()), //nolint:gosec // a quantity is far below 2^31
		OrderStatus: r.OrderStatus().String(), DeliveryStatus: r.DeliveryStatus().String(),
		CreateTime: timestamppb.New(r.CreatedAt()), UpdateTime: timestamppb.New(r.UpdatedAt()),
	}
}
