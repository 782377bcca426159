"""numnet.datasets.load_co2: the bundled Mauna Loa series, weekly as shipped and monthly means."""

import numpy as np
import pytest

from numnet.datasets import load_co2


def test_weekly_is_the_file_as_shipped():
    dates, co2 = load_co2("weekly")
    assert dates.shape == co2.shape == (2284,) and dates.dtype == np.int64 and co2.dtype == np.float64
    assert dates[0] == 19580329 and dates[-1] == 20011229
    np.testing.assert_array_equal(co2[:4], [316.1, 317.3, 317.6, 317.5])
    assert np.isnan(co2).sum() == 59 and np.isnan(co2[6])  # 1958-05-10 has no measurement
    assert co2[-1] == 371.5


def test_monthly_means_and_the_interpolated_months():
    months, co2 = load_co2()
    assert months.shape == co2.shape == (526,) and months[0] == 195803 and months[-1] == 200112
    assert not np.isnan(co2).any()
    weekly_dates, weekly = load_co2("weekly")
    april_1958 = weekly[(weekly_dates // 100) == 195804]
    np.testing.assert_allclose(co2[1], np.nanmean(april_1958))  # a month: the mean of its measured weeks
    # 1958-06 has no measured week: halfway between May and July.
    june = list(months).index(195806)
    np.testing.assert_allclose(co2[june], (co2[june - 1] + co2[june + 1]) / 2)
    # The trend: about 1.4 ppm a year over 1958-2001.
    assert 1.2 < (co2[-12:].mean() - co2[10:22].mean()) / 43 < 1.6


def test_a_bad_frequency_is_refused():
    with pytest.raises(ValueError, match="frequency must be 'monthly' or 'weekly', got 'daily'"):
        load_co2("daily")
