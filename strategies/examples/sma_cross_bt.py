"""backtrader's own quickstart strategy, as written for backtrader (its "Quickstart
Guide": a close crossing a simple moving average, with the guide's logging), run by this
platform under the A-share rules. Only one line is added: ``codes``, the stocks it trades
(a run may set them instead, in ``[params.TestStrategy] codes = [...]``)::

    quant backtest --strategies benchmark \\
        --strategy strategies/examples/sma_cross_bt.py:TestStrategy \\
        --start 2016-01-01 --end 2016-12-31

Under the A-share rules ``self.buy()`` buys one lot (100 shares on the main board: the
default sizer buys one minimum order of the stock's board), an order fills at the next
session's open, and a buy on a day the stock opens at limit-up is refused: the guide's
``notify_order`` logs it ("Order Canceled/Margin/Rejected"; ``order.info.reason`` says
why), and the next bar tries again. strategies/examples/sma_cross.py is the same logic on
the platform's own API; tests/test_bt_strategies.py checks that both trade alike.
"""

# Kept as backtrader's guide writes it: %-formatting, a list as a class attribute.
# ruff: noqa: UP031, RUF012

import backtrader as bt


class TestStrategy(bt.Strategy):
    codes = ["600000.SH"]  # the one line this platform needs: the stocks to feed
    params = (
        ("maperiod", 15),
        ("printlog", False),
    )

    def log(self, txt, dt=None, doprint=False):
        """Logging function for this strategy"""
        if self.params.printlog or doprint:
            dt = dt or self.datas[0].datetime.date(0)
            print("%s, %s" % (dt.isoformat(), txt))

    def __init__(self):
        # Keep a reference to the "close" line in the data[0] dataseries
        self.dataclose = self.datas[0].close

        # To keep track of pending orders and buy price/commission
        self.order = None
        self.buyprice = None
        self.buycomm = None

        # Add a MovingAverageSimple indicator
        self.sma = bt.indicators.SimpleMovingAverage(self.datas[0], period=self.params.maperiod)

    def notify_order(self, order):
        if order.status in [order.Submitted, order.Accepted]:
            # Buy/Sell order submitted/accepted to/by broker - Nothing to do
            return

        # Check if an order has been completed
        # Attention: broker could reject order if not enough cash
        if order.status in [order.Completed]:
            if order.isbuy():
                self.log(
                    "BUY EXECUTED, Price: %.2f, Cost: %.2f, Comm %.2f"
                    % (order.executed.price, order.executed.value, order.executed.comm)
                )

                self.buyprice = order.executed.price
                self.buycomm = order.executed.comm
            else:  # Sell
                self.log(
                    "SELL EXECUTED, Price: %.2f, Cost: %.2f, Comm %.2f"
                    % (order.executed.price, order.executed.value, order.executed.comm)
                )

            self.bar_executed = len(self)

        elif order.status in [order.Canceled, order.Margin, order.Rejected]:
            self.log("Order Canceled/Margin/Rejected")

        self.order = None

    def notify_trade(self, trade):
        if not trade.isclosed:
            return

        self.log("OPERATION PROFIT, GROSS %.2f, NET %.2f" % (trade.pnl, trade.pnlcomm))

    def next(self):
        # Simply log the closing price of the series from the reference
        self.log("Close, %.2f" % self.dataclose[0])

        # Check if an order is pending ... if yes, we cannot send a 2nd one
        if self.order:
            return

        # Check if we are in the market
        if not self.position:
            # Not yet ... we MIGHT BUY if ...
            if self.dataclose[0] > self.sma[0]:
                # BUY, BUY, BUY!!! (with all possible default parameters)
                self.log("BUY CREATE, %.2f" % self.dataclose[0])

                # Keep track of the created order to avoid a 2nd order
                self.order = self.buy()

        else:
            if self.dataclose[0] < self.sma[0]:
                # SELL, SELL, SELL!!! (with all possible default parameters)
                self.log("SELL CREATE, %.2f" % self.dataclose[0])

                # Keep track of the created order to avoid a 2nd order
                self.order = self.sell()

    def stop(self):
        self.log(
            "(MA Period %2d) Ending Value %.2f" % (self.params.maperiod, self.broker.getvalue()),
            doprint=True,
        )
